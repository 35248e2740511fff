package lambdarie

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// Runtime API headers (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) and the
// trailers aws-lambda-go sends when a response stream fails part-way.
const (
	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadlineMS      = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	trailerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody   = "Lambda-Runtime-Function-Error-Body"
	runtimeAPIPrefix   = "/2018-06-01/runtime"
	envRuntimeAPI      = "AWS_LAMBDA_RUNTIME_API"
	envLegacyRPCServer = "_LAMBDA_SERVER_PORT"
)

// runtime is one handler process with the Runtime API listener it alone talks to.
type runtime struct {
	cfg    *settings
	arn    string
	cmd    *exec.Cmd
	srv    *serve.Server
	next   chan *invocation // an invocation waiting for GET .../invocation/next
	exited chan struct{}    // closed once the process has exited
	err    error            // cmd.Wait's answer, written before exited is closed
	done   chan struct{}    // closed once the Runtime API server has stopped too
	once   sync.Once

	mu      sync.Mutex
	current *invocation // handed out, not yet answered
	initErr *outcome    // from POST .../init/error
	stopped bool        // killed by the emulator (timeout, init timeout, Close)
	warm    bool        // it has asked for an invocation at least once: its init succeeded
}

// startRuntime starts a handler process. onExit runs once it has exited; onDone once its
// Runtime API server has stopped as well, with that server's error: nothing of rt runs after.
func startRuntime(cfg *settings, arn string, onExit func(*runtime), onDone func(error)) (*runtime, error) {
	ln, err := serve.Listen("lambdarie: Runtime API", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rt := &runtime{cfg: cfg, arn: arn, next: make(chan *invocation), exited: make(chan struct{}), done: make(chan struct{})}
	// The server lives as long as the process: the watcher below closes it.
	rt.srv = serve.Start(context.Background(), ln, rt.routes(), serve.Config{})

	rt.cmd = exec.Command(cfg.command[0], cfg.command[1:]...)
	rt.cmd.Env = handlerEnv(cfg, ln.Addr().String())
	rt.cmd.Stdout, rt.cmd.Stderr = cfg.output, cfg.output
	// A grandchild holding the output pipe must not keep Wait (and so the exit) pending.
	rt.cmd.WaitDelay = time.Second
	if err := rt.cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("lambdarie: starting the handler %s: %w", cfg.command[0], err), rt.srv.Close())
	}
	pid := rt.cmd.Process.Pid
	cfg.logger.Info("runtime started", "function", cfg.functionName, "pid", pid, "handler", cfg.command[0], "runtime_api", ln.Addr().String())
	go func() {
		rt.err = rt.cmd.Wait()
		// Forgotten first, so that whoever sees exited closed starts a new process.
		onExit(rt)
		close(rt.exited)
		// Every Runtime API handler returns once exited is closed.
		srvErr := rt.srv.Close()
		rt.mu.Lock()
		stopped := rt.stopped
		rt.mu.Unlock()
		cfg.logger.Info("runtime exited", "function", cfg.functionName, "pid", pid, "exit", describeExit(rt.err), "stopped_by_emulator", stopped)
		close(rt.done)
		onDone(srvErr)
	}()
	return rt, nil
}

// routes is the Runtime API the handler process talks to.
func (rt *runtime) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIPrefix+"/invocation/next", rt.handleNext)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/response", rt.handleResponse)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/error", rt.handleError)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/init/error", rt.handleInitError)
	return mux
}

// kill kills the process, once, without waiting.
func (rt *runtime) kill() {
	rt.once.Do(func() {
		rt.mu.Lock()
		rt.stopped = true
		rt.mu.Unlock()
		_ = rt.cmd.Process.Kill()
	})
}

// stop kills the process and waits until it has exited and its Runtime API server has stopped.
func (rt *runtime) stop() {
	rt.kill()
	<-rt.done
}

// exitOutcome is the error for an invocation whose process exited before answering it.
func (rt *runtime) exitOutcome(id, when string) outcome {
	rt.mu.Lock()
	initErr, stopped := rt.initErr, rt.stopped
	rt.mu.Unlock()
	if initErr != nil {
		return *initErr
	}
	if stopped {
		return errorOutcome(outcomeCrash, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: the emulator stopped the runtime %s", id, when))
	}
	return errorOutcome(outcomeCrash, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s %s", id, describeExit(rt.err), when))
}

// wasWarm reports whether the process got through its init.
func (rt *runtime) wasWarm() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.warm && !rt.stopped && rt.initErr == nil
}

func describeExit(err error) string {
	if err == nil {
		return "Runtime exited without providing a reason"
	}
	return "Runtime exited with error: " + err.Error()
}

// handleNext hands the runtime the next invocation, waiting for one. Asking for the next one
// ends the current invocation: one left unanswered fails.
func (rt *runtime) handleNext(w http.ResponseWriter, r *http.Request) {
	rt.mu.Lock()
	prev := rt.current
	rt.current = nil
	rt.warm = true
	rt.mu.Unlock()
	if prev != nil {
		prev.result <- errorOutcome(outcomeFunctionError, "Runtime.NoResponse",
			fmt.Sprintf("RequestId: %s Error: the runtime asked for the next invocation without answering this one", prev.id))
	}
	var inv *invocation
	select {
	case inv = <-rt.next:
	case <-r.Context().Done():
		return
	case <-rt.exited:
		return
	}
	deadline := time.Now().Add(rt.cfg.timeout)
	rt.mu.Lock()
	rt.current = inv
	rt.mu.Unlock()
	inv.deadline <- deadline
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(hdrRequestID, inv.id)
	h.Set(hdrDeadlineMS, strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, rt.arn)
	h.Set(hdrTraceID, inv.traceID)
	if inv.clientContext != "" {
		h.Set(hdrClientContext, inv.clientContext)
	}
	_, _ = w.Write(inv.payload)
}

// take returns the current invocation if its id is id, and ends it.
func (rt *runtime) take(id string) *invocation {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	inv := rt.current
	if inv == nil || inv.id != id {
		return nil
	}
	rt.current = nil
	return inv
}

// runtimeError answers the runtime itself (not the invocation's caller).
func runtimeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": message, "errorType": errorType})
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`+"\n")
}

// readPayload reads a runtime's body up to MaxPayload; tooLarge reports a larger one.
func readPayload(r *http.Request) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		return nil, false, err
	}
	if len(body) > MaxPayload {
		return nil, true, nil
	}
	return body, false, nil
}

func (rt *runtime) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, tooLarge, err := readPayload(r)
	inv := rt.take(id)
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", fmt.Sprintf("request id %q is not the invocation in progress", id))
		return
	}
	switch {
	case err != nil:
		inv.result <- errorOutcome(outcomeFunctionError, "Runtime.TruncatedResponse", fmt.Sprintf("RequestId: %s Error: reading the function's response: %v", id, err))
		runtimeError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
	case tooLarge:
		inv.result <- errorOutcome(outcomeFunctionError, "Function.ResponseSizeTooLarge",
			fmt.Sprintf("RequestId: %s Error: Response payload size exceeded maximum allowed payload size (%d bytes).", id, MaxPayload))
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("response larger than %d bytes", MaxPayload))
	case r.Trailer.Get(trailerErrorType) != "":
		// The response stream failed part-way; aws-lambda-go reports why in trailers.
		errBody, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		inv.result <- functionError(errBody, r.Trailer.Get(trailerErrorType))
		accepted(w)
	default:
		inv.result <- outcome{kind: outcomeOK, payload: body}
		accepted(w)
	}
}

func (rt *runtime) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, tooLarge, err := readPayload(r)
	inv := rt.take(id)
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", fmt.Sprintf("request id %q is not the invocation in progress", id))
		return
	}
	if err != nil || tooLarge {
		body = nil
	}
	inv.result <- functionError(body, r.Header.Get(hdrErrorType))
	accepted(w)
}

// handleInitError records why the runtime could not start; the process is then stopped, as
// Lambda resets an environment whose init failed, and the waiting invocation gets the error.
func (rt *runtime) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _, _ := readPayload(r)
	out := functionError(body, r.Header.Get(hdrErrorType))
	out.kind = outcomeInitError
	rt.mu.Lock()
	rt.initErr = &out
	rt.mu.Unlock()
	accepted(w)
	rt.kill() // not stop: this handler has to return before the Runtime API server can stop
}

// functionError is the caller's error payload from what the runtime posted: its
// {"errorMessage","errorType",...} document when it is one, otherwise one built from the body.
func functionError(body []byte, headerType string) outcome {
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil && doc != nil {
		if msg, ok := doc["errorMessage"].(string); ok {
			typ, _ := doc["errorType"].(string)
			if typ == "" {
				typ = headerType
			}
			if typ == "" {
				typ = functionErrUnhandled
			}
			doc["errorType"] = typ
			doc["errorMessage"] = msg
			b, _ := json.Marshal(doc)
			return outcome{kind: outcomeFunctionError, errorType: typ, payload: b}
		}
	}
	typ := headerType
	if typ == "" {
		typ = functionErrUnhandled
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = "the function reported an error without a message"
	}
	return errorOutcome(outcomeFunctionError, typ, msg)
}

// handlerEnv is the handler's environment: the inherited one, then WithEnv's, then what Lambda
// sets (which nothing overrides).
func handlerEnv(cfg *settings, runtimeAPI string) []string {
	env := map[string]string{}
	for _, kv := range append(os.Environ(), cfg.env...) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// aws-lambda-go would serve its legacy RPC protocol instead of the Runtime API.
	delete(env, envLegacyRPCServer)
	if env["AWS_REGION"] == "" {
		if env["AWS_DEFAULT_REGION"] != "" {
			env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
		} else {
			env["AWS_REGION"] = defaultRegion
		}
	}
	if env["AWS_DEFAULT_REGION"] == "" {
		env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
	}
	for k, v := range map[string]string{
		envRuntimeAPI:                     runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.functionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cfg.memoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + cfg.functionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "$LATEST",
		"_HANDLER":                        cfg.handlerName,
	} {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

var errClosed = errors.New("lambdarie: closed")
