// Package lambdarie is a Lambda Runtime Interface Emulator: it runs a Lambda function's handler
// process (any runtime that speaks the Lambda Runtime API, such as a Go binary calling
// aws-lambda-go's lambda.Start) and serves the Lambda Invoke API in front of it, so the same
// binary that is deployed to AWS Lambda, or packaged as a Lambda container image, answers
//
//	POST /2015-03-31/functions/{function}/invocations
//
// for the name "function" (what AWS's emulator answers to) and the configured function name.
//
// Like one Lambda execution environment it runs one invocation at a time; the others wait
// their turn. Each invocation has a timeout (default 3s, Lambda's default): past it, the caller
// gets a Sandbox.Timedout error and the handler process is killed. A handler that exits during
// an invocation fails that invocation (Runtime.ExitError). Either way the next invocation starts
// a fresh process (a cold start), so a handler that cannot start is never restarted in a loop.
// Every failure reaches the caller as the Invoke API reports a function error: HTTP 200 with
// X-Amz-Function-Error: Unhandled and an {"errorMessage","errorType"} body, never as a payload
// that could pass for the function's answer.
//
// The handler process gets the Runtime API on a loopback listener of its own (one per process,
// so a killed process can never take an invocation meant for its successor), named by
// AWS_LAMBDA_RUNTIME_API, and the variables Lambda sets: AWS_LAMBDA_FUNCTION_NAME,
// AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, _HANDLER, and AWS_REGION and
// AWS_DEFAULT_REGION when the environment has none, on top of the inherited environment.
package lambdarie

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defaults, as Lambda and AWS's Runtime Interface Emulator have them.
const (
	// DefaultFunctionName is the name AWS's emulator answers to whatever the function is called.
	DefaultFunctionName = "function"
	// DefaultTimeout is Lambda's default function timeout.
	DefaultTimeout = 3 * time.Second
	// DefaultInitTimeout bounds a handler's start-up (Lambda's init phase limit).
	DefaultInitTimeout = 10 * time.Second
	// DefaultMemorySize is what AWS's emulator reports in AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
	DefaultMemorySize = 3008
	// MaxPayload is Lambda's limit on a synchronous invocation's request and response (6 MB).
	MaxPayload = 6 << 20
	// MaxTimeout is Lambda's largest function timeout.
	MaxTimeout = 15 * time.Minute

	// Region and account used in the invoked function ARN: the kit's defaults.
	defaultRegion  = "us-east-1"
	defaultAccount = "111122223333"
)

// The Invoke API's header for a function error, and the one value Lambda now sends in it.
const (
	HeaderFunctionError  = "X-Amz-Function-Error"
	functionErrUnhandled = "Unhandled"
)

var functionNameRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Option configures New and Start.
type Option func(*settings) error

type settings struct {
	command      []string
	handlerName  string
	addr         string
	functionName string
	timeout      time.Duration
	initTimeout  time.Duration
	memoryMB     int
	env          []string
	output       io.Writer
	logger       *slog.Logger
}

// WithHandler is the handler process: an executable (a path, or a name looked up in PATH) and
// its arguments. It is required.
func WithHandler(path string, args ...string) Option {
	return func(s *settings) error {
		if path == "" {
			return errors.New("lambdarie: WithHandler: empty handler path")
		}
		s.command = append([]string{path}, args...)
		return nil
	}
}

// WithHandlerName sets _HANDLER, the handler setting of the function (default: the base name of
// the handler executable). Custom runtimes read it; Go binaries ignore it.
func WithHandlerName(name string) Option {
	return func(s *settings) error {
		s.handlerName = name
		return nil
	}
}

// WithAddr sets the address Start serves the Invoke API on (default 127.0.0.1:0). New ignores it.
func WithAddr(addr string) Option {
	return func(s *settings) error {
		if addr == "" {
			return errors.New("lambdarie: WithAddr: empty address (want HOST:PORT)")
		}
		s.addr = addr
		return nil
	}
}

// WithFunctionName sets the function's name: the Invoke API answers to it besides "function",
// and the handler sees it in AWS_LAMBDA_FUNCTION_NAME and the invoked function ARN.
func WithFunctionName(name string) Option {
	return func(s *settings) error {
		if !functionNameRule.MatchString(name) {
			return fmt.Errorf("lambdarie: function name %q: must be 1 to 64 letters, digits, hyphens or underscores", name)
		}
		s.functionName = name
		return nil
	}
}

// WithTimeout sets the invocation timeout, from the moment the handler receives the event
// (default DefaultTimeout; at most MaxTimeout, as on Lambda).
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 || d > MaxTimeout {
			return fmt.Errorf("lambdarie: timeout %v: must be positive and at most %v", d, MaxTimeout)
		}
		s.timeout = d
		return nil
	}
}

// WithMemorySize sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB (default DefaultMemorySize; 128 to
// 10240 as on Lambda). Memory is not limited: the value is only what the handler is told.
func WithMemorySize(mb int) Option {
	return func(s *settings) error {
		if mb < 128 || mb > 10240 {
			return fmt.Errorf("lambdarie: memory size %d MB: must be between 128 and 10240", mb)
		}
		s.memoryMB = mb
		return nil
	}
}

// WithEnv adds KEY=value variables to the handler's environment, over the inherited ones. The
// variables the emulator sets itself (AWS_LAMBDA_RUNTIME_API and the function's) cannot be
// overridden.
func WithEnv(kv ...string) Option {
	return func(s *settings) error {
		for _, e := range kv {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				return fmt.Errorf("lambdarie: WithEnv: %q is not KEY=value", e)
			}
		}
		s.env = append(s.env, kv...)
		return nil
	}
}

// WithOutput receives the handler process's stdout and stderr, its logs (default os.Stderr).
func WithOutput(w io.Writer) Option {
	return func(s *settings) error {
		if w == nil {
			return errors.New("lambdarie: WithOutput: nil writer")
		}
		s.output = w
		return nil
	}
}

// WithLogger logs each invocation (keys: request_id, function, outcome, error_type,
// duration_ms) and each handler process start and exit (pid, exit). By default nothing is
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("lambdarie: WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// CheckOptions reports the first error of opts without starting anything or requiring a
// handler, so a command line can name the flag that is wrong.
func CheckOptions(opts ...Option) error {
	s := defaultSettings()
	for _, o := range opts {
		if err := o(s); err != nil {
			return err
		}
	}
	return nil
}

func defaultSettings() *settings {
	return &settings{addr: "127.0.0.1:0", functionName: DefaultFunctionName, timeout: DefaultTimeout,
		initTimeout: DefaultInitTimeout, memoryMB: DefaultMemorySize, output: os.Stderr,
		logger: slog.New(slog.DiscardHandler)}
}

func newSettings(opts []Option) (*settings, error) {
	s := defaultSettings()
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if len(s.command) == 0 {
		return nil, errors.New("lambdarie: no handler: give WithHandler(path, args...)")
	}
	// Fail at start, not at the first invocation, when there is nothing to run.
	path, err := exec.LookPath(s.command[0])
	if err != nil {
		return nil, fmt.Errorf("lambdarie: handler %q: %w", s.command[0], err)
	}
	s.command[0] = path
	if s.handlerName == "" {
		s.handlerName = filepath.Base(path)
	}
	return s, nil
}

// Emulator is the Invoke API (an http.Handler) in front of one execution environment. It is
// safe for concurrent use; invocations run one at a time.
type Emulator struct {
	cfg  *settings
	arn  string
	slot chan struct{} // holds a token while an invocation runs

	mu       sync.Mutex
	rt       *runtime // the current handler process, nil when none runs
	closed   bool
	runtimes sync.WaitGroup // every handler process until its Runtime API server has stopped
	errs     []error        // of Runtime API servers that failed
}

// New returns an Emulator and starts its handler process, so that a handler that fails at
// start-up shows it in its output before the first invocation.
func New(opts ...Option) (*Emulator, error) {
	cfg, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = defaultRegion
	}
	e := &Emulator{cfg: cfg, slot: make(chan struct{}, 1),
		arn: "arn:aws:lambda:" + region + ":" + defaultAccount + ":function:" + cfg.functionName}
	if _, err := e.runtime(); err != nil {
		return nil, err
	}
	return e, nil
}

// FunctionName is the configured function name.
func (e *Emulator) FunctionName() string { return e.cfg.functionName }

// FunctionARN is the function ARN the handler is told it was invoked as.
func (e *Emulator) FunctionARN() string { return e.arn }

// Timeout is the invocation timeout.
func (e *Emulator) Timeout() time.Duration { return e.cfg.timeout }

// Close kills the handler process and refuses further invocations; one in progress fails.
// It returns once every handler process it started has exited and its Runtime API server has
// stopped, with the error of any such server that failed.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	rt := e.rt
	e.mu.Unlock()
	if rt != nil {
		rt.kill()
	}
	e.runtimes.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.errs...)
}

// runtime returns the running handler process, starting one when none runs.
func (e *Emulator) runtime() (*runtime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	if e.rt != nil {
		return e.rt, nil
	}
	// Counted before it starts: its watcher may finish before startRuntime returns.
	e.runtimes.Add(1)
	rt, err := startRuntime(e.cfg, e.arn, e.forget, e.finished)
	if err != nil {
		e.runtimes.Done()
		return nil, err
	}
	e.rt = rt
	return rt, nil
}

// forget drops rt once its process has exited, so the next invocation starts a new one.
func (e *Emulator) forget(rt *runtime) {
	e.mu.Lock()
	if e.rt == rt {
		e.rt = nil
	}
	e.mu.Unlock()
}

// finished counts off a handler process whose Runtime API server has stopped.
func (e *Emulator) finished(srvErr error) {
	if srvErr != nil {
		e.mu.Lock()
		e.errs = append(e.errs, fmt.Errorf("lambdarie: Runtime API server: %w", srvErr))
		e.mu.Unlock()
	}
	e.runtimes.Done()
}

// invokePath matches the Invoke API's path; the function is its one segment.
var invokePath = regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/invocations$`)

// ServeHTTP serves the Invoke API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := invokePath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		apiError(w, http.StatusNotFound, "UnknownOperationException", "", fmt.Sprintf("no Lambda operation at %s %s: the Invoke API is POST /2015-03-31/functions/%s/invocations", r.Method, r.URL.Path, e.cfg.functionName))
		return
	}
	if name := m[1]; name != DefaultFunctionName && name != e.cfg.functionName && name != e.arn {
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", "User", "Function not found: "+strings.TrimSuffix(e.arn, e.cfg.functionName)+name)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		apiError(w, http.StatusMethodNotAllowed, "InvalidRequestContentException", "User", "the Invoke API takes POST, not "+r.Method)
		return
	}
	switch t := r.Header.Get("X-Amz-Invocation-Type"); t {
	case "", "RequestResponse", "DryRun":
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "User",
			fmt.Sprintf("X-Amz-Invocation-Type %q: this emulator runs RequestResponse (synchronous) and DryRun invocations only", t))
		return
	}
	var clientContext string
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "User", "X-Amz-Client-Context: must be base64-encoded JSON")
			return
		}
		clientContext = string(b)
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "User", "reading the payload: "+err.Error())
		return
	}
	if len(payload) > MaxPayload {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "User",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayload))
		return
	}
	if r.Header.Get("X-Amz-Invocation-Type") == "DryRun" {
		w.WriteHeader(http.StatusNoContent)
		return
	}

	inv := newInvocation(payload, clientContext, r.Header.Get("X-Amzn-Trace-Id"))
	start := time.Now()
	out := e.invoke(r.Context(), inv)
	attrs := []any{"request_id", inv.id, "function", e.cfg.functionName, "outcome", out.kind,
		"duration_ms", time.Since(start).Milliseconds()}
	level := slog.LevelInfo
	if out.kind != outcomeOK {
		level = slog.LevelWarn
		attrs = append(attrs, "error_type", out.errorType)
	}
	e.cfg.logger.Log(r.Context(), level, "invocation", attrs...)
	if out.kind == outcomeCanceled {
		return // the caller has gone
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", inv.id)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if out.kind != outcomeOK {
		w.Header().Set(HeaderFunctionError, functionErrUnhandled)
	}
	_, _ = w.Write(out.payload)
}

// apiError is an Invoke API error (not a function error), in Lambda's shape.
func apiError(w http.ResponseWriter, status int, code, typ, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	body := map[string]string{"message": message}
	if typ != "" {
		body["Type"] = typ
	}
	_ = json.NewEncoder(w).Encode(body)
}

// Outcomes of an invocation, as logged.
const (
	outcomeOK            = "ok"
	outcomeFunctionError = "function_error"
	outcomeTimeout       = "timeout"
	outcomeCrash         = "crash"
	outcomeInitError     = "init_error"
	outcomeCanceled      = "canceled"
)

// outcome is what the caller gets: the function's payload, or an error payload.
type outcome struct {
	kind      string
	errorType string
	payload   []byte
}

// errorOutcome is an error payload in Lambda's {"errorMessage","errorType"} shape.
func errorOutcome(kind, errorType, message string) outcome {
	b, _ := json.Marshal(map[string]string{"errorMessage": message, "errorType": errorType})
	return outcome{kind: kind, errorType: errorType, payload: b}
}

// invocation is one event on its way to the handler and back.
type invocation struct {
	id, clientContext, traceID string
	payload                    []byte
	deadline                   chan time.Time // the handler took it, with this deadline
	result                     chan outcome   // the handler answered
}

func newInvocation(payload []byte, clientContext, traceID string) *invocation {
	if traceID == "" {
		// X-Ray's format: Root=1-<epoch seconds, hex>-<96 random bits>.
		traceID = fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8))
	}
	return &invocation{id: newRequestID(), clientContext: clientContext, traceID: traceID, payload: payload,
		deadline: make(chan time.Time, 1), result: make(chan outcome, 1)}
}

// invoke runs inv on the execution environment once it is free.
func (e *Emulator) invoke(ctx context.Context, inv *invocation) outcome {
	select {
	case e.slot <- struct{}{}:
	case <-ctx.Done():
		return outcome{kind: outcomeCanceled, errorType: "Canceled"}
	}
	defer func() { <-e.slot }()

	var rt *runtime
	for attempt := 0; ; attempt++ {
		var err error
		rt, err = e.runtime()
		if errors.Is(err, errClosed) {
			return errorOutcome(outcomeCrash, "Runtime.Unavailable", fmt.Sprintf("RequestId: %s Error: the emulator is shutting down", inv.id))
		}
		if err != nil {
			return errorOutcome(outcomeInitError, "Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: %v", inv.id, err))
		}
		out, delivered, retry := e.deliver(ctx, rt, inv)
		if delivered {
			break
		}
		// A warm process that exited while idle (after a panic, say) never saw this
		// invocation: a fresh one gets it, once.
		if !retry || attempt > 0 {
			return out
		}
	}

	// Delivered: the handler runs to an answer, a crash or the deadline, whether or not the
	// caller is still there, as on Lambda.
	deadline := <-inv.deadline
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case out := <-inv.result:
		return out
	case <-rt.exited:
		select {
		case out := <-inv.result: // answered, then exited (aws-lambda-go does so after a panic)
			return out
		default:
		}
		return rt.exitOutcome(inv.id, "during the invocation")
	case <-timer.C:
		rt.stop()
		return errorOutcome(outcomeTimeout, "Sandbox.Timedout",
			fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, e.cfg.timeout.Seconds()))
	}
}

// deliver hands inv to rt's next GET .../invocation/next. When it cannot, it returns the
// caller's answer, and retry when rt was a warm process that exited before taking inv.
func (e *Emulator) deliver(ctx context.Context, rt *runtime, inv *invocation) (out outcome, delivered, retry bool) {
	initTimer := time.NewTimer(e.cfg.initTimeout)
	defer initTimer.Stop()
	select {
	case rt.next <- inv:
		return outcome{}, true, false
	case <-rt.exited:
		return rt.exitOutcome(inv.id, "before it took the invocation"), false, rt.wasWarm()
	case <-initTimer.C:
		rt.stop()
		return errorOutcome(outcomeInitError, "Runtime.Unavailable", fmt.Sprintf(
			"RequestId: %s Error: the runtime did not ask for the invocation (GET /2018-06-01/runtime/invocation/next) within %v; it was stopped",
			inv.id, e.cfg.initTimeout)), false, false
	case <-ctx.Done():
		return outcome{kind: outcomeCanceled, errorType: "Canceled"}, false, false
	}
}

// newRequestID is a random UUID (version 4), the shape of Lambda request ids.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
