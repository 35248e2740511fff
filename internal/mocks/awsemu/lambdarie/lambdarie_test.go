package lambdarie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/lambdarie"
)

// envHandler makes the test binary a Lambda handler instead of running tests: "serve" calls
// lambda.Start with testHandler, "fail-init" exits before it, as a function whose
// configuration is wrong does.
const envHandler = "LAMBDARIE_TEST_HANDLER"

func TestMain(m *testing.M) {
	switch os.Getenv(envHandler) {
	case "":
		os.Exit(m.Run())
	case "serve":
		lambda.Start(testHandler)
	case "fail-init":
		fmt.Fprintln(os.Stderr, "fail-init: no configuration")
		os.Exit(1)
	}
	os.Exit(2)
}

// event tells testHandler what to do.
type event struct {
	Do    string `json:"do"`    // echo (default), error, crash, panic, hang
	Value string `json:"value"` // echoed back
}

// reply is what testHandler echoes: what it was given, and what it knows of its environment.
type reply struct {
	Value       string            `json:"value"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	HasDeadline bool              `json:"hasDeadline"`
	PID         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

func testHandler(ctx context.Context, ev event) (reply, error) {
	switch ev.Do {
	case "error":
		return reply{}, errors.New("boom: " + ev.Value)
	case "crash":
		os.Exit(3)
	case "panic":
		panic("kaboom")
	case "hang":
		fmt.Fprintln(os.Stderr, hangingLine) // tells a test the invocation has arrived
		select {}                            // ignores its deadline, as a stuck handler does
	}
	lc, _ := lambdacontext.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER", "EXTRA", "_X_AMZN_TRACE_ID"} {
		env[k] = os.Getenv(k)
	}
	return reply{Value: ev.Value, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn,
		HasDeadline: hasDeadline, PID: os.Getpid(), Env: env}, nil
}

// syncBuffer collects the handler's output and the logs, written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the test binary as the handler under an emulator.
func start(t *testing.T, mode string, opts ...lambdarie.Option) (*lambdarie.Server, *syncBuffer, *syncBuffer) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, logs := &syncBuffer{}, &syncBuffer{}
	t.Setenv(envHandler, mode) // inherited by the handler process
	s, err := lambdarie.Start(t.Context(), append([]lambdarie.Option{lambdarie.WithHandler(self),
		lambdarie.WithOutput(out), lambdarie.WithLogger(slog.New(slog.NewJSONHandler(logs, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, out, logs
}

type answer struct {
	status        int
	header        http.Header
	body          []byte
	functionError string
}

func (a answer) reply(t *testing.T) reply {
	t.Helper()
	if a.status != http.StatusOK || a.functionError != "" {
		t.Fatalf("HTTP %d, X-Amz-Function-Error %q: %s", a.status, a.functionError, a.body)
	}
	var r reply
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("reply %s: %v", a.body, err)
	}
	return r
}

// lambdaError decodes a function error, failing unless the answer is one.
func (a answer) lambdaError(t *testing.T) (errorType, message string) {
	t.Helper()
	var e struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    string  `json:"errorType"`
	}
	if a.status != http.StatusOK || a.functionError != "Unhandled" || json.Unmarshal(a.body, &e) != nil || e.ErrorMessage == nil {
		t.Fatalf("want HTTP 200 with X-Amz-Function-Error: Unhandled and an errorMessage; got HTTP %d, %q: %s", a.status, a.functionError, a.body)
	}
	return e.ErrorType, *e.ErrorMessage
}

func post(t *testing.T, url string, body []byte, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b, resp.Header.Get(lambdarie.HeaderFunctionError)}
}

func invoke(t *testing.T, s *lambdarie.Server, ev event) answer {
	t.Helper()
	b, _ := json.Marshal(ev)
	return post(t, s.InvokeURL(), b)
}

func TestTheHandlerGetsTheEventAndTheLambdaEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	s, _, _ := start(t, "serve", lambdarie.WithFunctionName("mcp-authorizer"), lambdarie.WithEnv("EXTRA=yes"), lambdarie.WithMemorySize(512))
	a := invoke(t, s, event{Value: "hello"})
	r := a.reply(t)
	if r.Value != "hello" || r.RequestID == "" || r.RequestID != a.header.Get("X-Amzn-RequestId") || !r.HasDeadline {
		t.Errorf("reply %+v, X-Amzn-RequestId %q: want the value back, the invocation's request id and a deadline", r, a.header.Get("X-Amzn-RequestId"))
	}
	if r.FunctionARN != "arn:aws:lambda:us-east-1:111122223333:function:mcp-authorizer" {
		t.Errorf("invoked function ARN %q", r.FunctionARN)
	}
	for k, want := range map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "mcp-authorizer", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "EXTRA": "yes"} {
		if r.Env[k] != want {
			t.Errorf("%s = %q, want %q", k, r.Env[k], want)
		}
	}
	if r.Env["_HANDLER"] == "" || !strings.HasPrefix(r.Env["_X_AMZN_TRACE_ID"], "Root=1-") {
		t.Errorf("_HANDLER %q, trace id %q", r.Env["_HANDLER"], r.Env["_X_AMZN_TRACE_ID"])
	}

	t.Run("the function name works as well as \"function\"", func(t *testing.T) {
		b := post(t, s.Endpoint()+"/2015-03-31/functions/mcp-authorizer/invocations", []byte(`{"value":"by name"}`)).reply(t)
		if b.Value != "by name" || b.PID != r.PID {
			t.Errorf("reply %+v: want the same warm process %d", b, r.PID)
		}
	})
	t.Run("another function is not found", func(t *testing.T) {
		a := post(t, s.Endpoint()+"/2015-03-31/functions/other/invocations", []byte(`{}`))
		if a.status != http.StatusNotFound || a.header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" ||
			!strings.Contains(string(a.body), "function:other") {
			t.Errorf("HTTP %d %q: %s", a.status, a.header.Get("X-Amzn-ErrorType"), a.body)
		}
	})
	t.Run("a payload over 6 MB is refused before the handler sees it", func(t *testing.T) {
		a := post(t, s.InvokeURL(), bytes.Repeat([]byte("x"), lambdarie.MaxPayload+1))
		if a.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(a.body), "6291456") {
			t.Errorf("HTTP %d: %s", a.status, a.body)
		}
	})
	t.Run("an asynchronous invocation is refused, naming the header", func(t *testing.T) {
		a := post(t, s.InvokeURL(), []byte(`{}`), "X-Amz-Invocation-Type", "Event")
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "X-Amz-Invocation-Type") {
			t.Errorf("HTTP %d: %s", a.status, a.body)
		}
	})
	t.Run("GET is not the Invoke API", func(t *testing.T) {
		resp, err := http.Get(s.InvokeURL())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("HTTP %d", resp.StatusCode)
		}
	})
}

func TestAFunctionErrorIsAnsweredAsLambdaDoes(t *testing.T) {
	s, out, logs := start(t, "serve")
	first := invoke(t, s, event{}).reply(t)
	typ, msg := invoke(t, s, event{Do: "error", Value: "no"}).lambdaError(t)
	if typ != "errorString" || msg != "boom: no" {
		t.Errorf("errorType %q, errorMessage %q", typ, msg)
	}
	if again := invoke(t, s, event{}).reply(t); again.PID != first.PID {
		t.Errorf("a handled error restarted the process (%d, then %d)", first.PID, again.PID)
	}
	if !strings.Contains(out.String(), "boom: no") {
		t.Errorf("the handler's output does not show its error:\n%s", out)
	}
	var outcomes []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "invocation" {
			if rec["request_id"] == "" || rec["duration_ms"] == nil {
				t.Errorf("invocation log without request_id or duration_ms: %s", line)
			}
			outcomes = append(outcomes, fmt.Sprint(rec["outcome"], "/", rec["error_type"]))
		}
	}
	if want := []string{"ok/<nil>", "function_error/errorString", "ok/<nil>"}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Errorf("logged outcomes %v, want %v", outcomes, want)
	}
}

func TestAHandlerThatDiesFailsItsInvocationAndIsRestarted(t *testing.T) {
	s, _, _ := start(t, "serve")
	first := invoke(t, s, event{}).reply(t)

	t.Run("an exit fails the invocation with Runtime.ExitError", func(t *testing.T) {
		typ, msg := invoke(t, s, event{Do: "crash"}).lambdaError(t)
		if typ != "Runtime.ExitError" || !strings.Contains(msg, "exit status 3") {
			t.Errorf("errorType %q, errorMessage %q", typ, msg)
		}
	})
	second := invoke(t, s, event{}).reply(t)
	if second.PID == first.PID {
		t.Fatalf("the same process %d answered after it exited", first.PID)
	}

	t.Run("a panic is reported as the function's error, then the process is replaced", func(t *testing.T) {
		typ, msg := invoke(t, s, event{Do: "panic"}).lambdaError(t)
		if msg != "kaboom" {
			t.Errorf("errorType %q, errorMessage %q", typ, msg)
		}
		if third := invoke(t, s, event{}).reply(t); third.PID == second.PID {
			t.Errorf("the process %d that panicked answered again", second.PID)
		}
	})
}

func TestAnInvocationPastItsTimeoutFailsAndTheHandlerIsRestarted(t *testing.T) {
	s, _, logs := start(t, "serve", lambdarie.WithTimeout(300*time.Millisecond))
	first := invoke(t, s, event{}).reply(t)
	typ, msg := invoke(t, s, event{Do: "hang"}).lambdaError(t)
	if typ != "Sandbox.Timedout" || !strings.Contains(msg, "Task timed out after 0.30 seconds") {
		t.Errorf("errorType %q, errorMessage %q", typ, msg)
	}
	if again := invoke(t, s, event{}).reply(t); again.PID == first.PID {
		t.Errorf("the timed-out process %d answered again", first.PID)
	}
	if !strings.Contains(logs.String(), `"outcome":"timeout"`) {
		t.Errorf("no timeout in the logs:\n%s", logs)
	}
}

func TestInvocationsWaitForTheOneExecutionEnvironment(t *testing.T) {
	s, _, _ := start(t, "serve")
	const n = 8
	replies := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, _ := json.Marshal(event{Value: fmt.Sprint(i)})
			replies[i] = post(t, s.InvokeURL(), b)
		})
	}
	wg.Wait()
	pids, ids := map[int]bool{}, map[string]bool{}
	for i, a := range replies {
		r := a.reply(t)
		if r.Value != fmt.Sprint(i) {
			t.Errorf("invocation %d got the reply to %q", i, r.Value)
		}
		pids[r.PID], ids[r.RequestID] = true, true
	}
	if len(pids) != 1 || len(ids) != n {
		t.Errorf("%d processes and %d request ids for %d invocations: want one process and distinct ids", len(pids), len(ids), n)
	}
}

func TestAHandlerThatCannotStartFailsEveryInvocation(t *testing.T) {
	s, out, _ := start(t, "fail-init")
	for range 2 {
		typ, msg := invoke(t, s, event{}).lambdaError(t)
		if typ != "Runtime.ExitError" || !strings.Contains(msg, "exit status 1") {
			t.Errorf("errorType %q, errorMessage %q", typ, msg)
		}
	}
	if !strings.Contains(out.String(), "fail-init: no configuration") {
		t.Errorf("the handler's output is not passed on:\n%s", out)
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    []lambdarie.Option
		mention string
	}{
		{"no handler is refused", nil, "WithHandler"},
		{"a handler that does not exist is named", []lambdarie.Option{lambdarie.WithHandler("/no/such/handler")}, "/no/such/handler"},
		{"a function name with a colon is refused", []lambdarie.Option{lambdarie.WithHandler(self), lambdarie.WithFunctionName("a:b")}, "1 to 64"},
		{"a zero timeout is refused", []lambdarie.Option{lambdarie.WithHandler(self), lambdarie.WithTimeout(0)}, "positive"},
		{"a timeout over 15 minutes is refused", []lambdarie.Option{lambdarie.WithHandler(self), lambdarie.WithTimeout(16 * time.Minute)}, "15m0s"},
		{"64 MB of memory is refused", []lambdarie.Option{lambdarie.WithHandler(self), lambdarie.WithMemorySize(64)}, "between 128 and 10240"},
		{"an environment entry without = is refused", []lambdarie.Option{lambdarie.WithHandler(self), lambdarie.WithEnv("FOO")}, `"FOO"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := lambdarie.Start(t.Context(), tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}
