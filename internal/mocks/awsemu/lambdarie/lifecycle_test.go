package lambdarie_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/lambdarie"
	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

// startSelf starts an emulator whose handler is this test binary, answering as testHandler,
// with its output written to out.
func startSelf(ctx context.Context, t *testing.T, out io.Writer) (*lambdarie.Server, error) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return lambdarie.Start(ctx, lambdarie.WithHandler(self), lambdarie.WithOutput(out))
}

// hangingLine is what testHandler prints once a "hang" invocation has reached it.
const hangingLine = "hanging"

// lineSignal closes arrived when the handler's output holds hangingLine.
type lineSignal struct {
	mu      sync.Mutex
	seen    strings.Builder
	arrived chan struct{}
}

func (l *lineSignal) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	had := strings.Contains(l.seen.String(), hangingLine)
	l.seen.Write(p)
	if !had && strings.Contains(l.seen.String(), hangingLine) {
		close(l.arrived)
	}
	return len(p), nil
}

// Each round starts a handler process and invokes it once, so the Runtime API server, its
// connection and the process come and go too.
func TestStartAndCloseAHundredTimes(t *testing.T) {
	t.Setenv(envHandler, "serve")
	servetest.StartAndClose(t, 100, func(ctx context.Context, client *http.Client) (servetest.Started, error) {
		s, err := startSelf(ctx, t, io.Discard)
		if err != nil {
			return servetest.Started{}, err
		}
		resp, err := client.Post(s.InvokeURL(), "application/json", strings.NewReader(`{"value":"x"}`))
		if err != nil {
			_ = s.Close()
			return servetest.Started{}, err
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if !strings.Contains(string(body), `"value":"x"`) {
			_ = s.Close()
			t.Fatalf("invocation answered %d %s", resp.StatusCode, body)
		}
		return servetest.Started{URL: s.Endpoint(), Close: s.Close}, nil
	})
}

// TestCloseDuringAnInvocationLeavesNothing: Close while the handler hangs on an invocation
// answers the caller (or cuts it), kills the process, and leaves no goroutine behind.
func TestCloseDuringAnInvocationLeavesNothing(t *testing.T) {
	t.Setenv(envHandler, "serve")
	before := goleak.IgnoreCurrent()
	client := &http.Client{Transport: &http.Transport{}}
	for i := range 10 {
		out := &lineSignal{arrived: make(chan struct{})}
		s, err := startSelf(context.Background(), t, out)
		if err != nil {
			t.Fatal(err)
		}
		answered := make(chan struct{})
		go func() {
			defer close(answered)
			resp, err := client.Post(s.InvokeURL(), "application/json", strings.NewReader(`{"do":"hang"}`))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
		select {
		case <-out.arrived:
		case <-answered:
			t.Fatalf("round %d: the invocation was answered before it reached the handler", i)
		}
		begun := time.Now()
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
		if took := time.Since(begun); took > lambdarie.DefaultTimeout {
			t.Errorf("round %d: Close took %v, as long as the invocation's timeout: it waited for the hung handler", i, took)
		}
		<-answered
		client.CloseIdleConnections()
	}
	goleak.VerifyNone(t, before)
}
