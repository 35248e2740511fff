package serve_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpsso/mcpsso/internal/serve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := serve.Listen("test", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestStartAndCloseAHundredTimes: nothing outlives Close (goleak checks at the end), whether
// the server was closed directly or by its start context.
func TestStartAndCloseAHundredTimes(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	for i := range 100 {
		ctx, cancel := context.WithCancel(context.Background())
		s := serve.Start(ctx, listen(t), h, serve.Config{})
		var ran atomic.Bool
		s.Go(func(ctx context.Context) error { <-ctx.Done(); ran.Store(true); return nil })
		resp, err := http.Get(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i%2 == 0 {
			cancel()
			<-s.Done()
		}
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
		cancel()
		if !ran.Load() {
			t.Fatalf("round %d: Close returned before the goroutine started with Go did", i)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestAStartContextAlreadyEndedClosesTheServer: the server closes at once, and Close, called
// meanwhile, waits for that and returns no error.
func TestAStartContextAlreadyEndedClosesTheServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 100 {
		s := serve.Start(ctx, listen(t), http.NotFoundHandler(), serve.Config{})
		s.Go(func(ctx context.Context) error { <-ctx.Done(); return nil })
		<-s.Done()
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
	}
}

// TestCloseCutsRequestsThatOutstayTheGrace: a handler that never finishes on its own does
// not hold Close past the grace period; its request's context ends, and Close returns (and
// runs OnClose) only once it has returned.
func TestCloseCutsRequestsThatOutstayTheGrace(t *testing.T) {
	started, ended := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(ended)
	})
	onClose := func() error {
		select {
		case <-ended:
			return nil
		default:
			return errors.New("OnClose ran before the cut request's handler returned")
		}
	}
	s := serve.Start(context.Background(), listen(t), h, serve.Config{Grace: 50 * time.Millisecond, OnClose: onClose})
	go func() {
		resp, err := http.Get(s.URL())
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	begun := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(begun); took > 5*time.Second {
		t.Errorf("Close took %v with a 50ms grace", took)
	}
	select {
	case <-ended:
	default:
		t.Fatal("Close returned while the cut request's handler was still running")
	}
}

// TestGoErrorsAreReturnedAndLateGoRunsAtOnce: the errors of a function started with Go and of
// OnClose, which runs after it, are Close's; Go called once Close has begun runs its function
// before returning, with the server's context already ended, so nothing it starts can outlive
// the server.
func TestGoErrorsAreReturnedAndLateGoRunsAtOnce(t *testing.T) {
	var goReturned atomic.Bool
	s := serve.Start(context.Background(), listen(t), http.NotFoundHandler(), serve.Config{OnClose: func() error {
		if !goReturned.Load() {
			return errors.New("OnClose ran before the Go function returned")
		}
		return errors.New("release failed")
	}})
	s.Go(func(ctx context.Context) error {
		<-ctx.Done()
		goReturned.Store(true)
		return errors.New("cleanup failed")
	})
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "cleanup failed") || !strings.Contains(err.Error(), "release failed") {
		t.Fatalf("Close = %v, want the Go function's error and OnClose's", err)
	}
	ran := false
	s.Go(func(ctx context.Context) error {
		ran = ctx.Err() != nil
		return nil
	})
	if !ran {
		t.Fatal("Go after Close did not run its function at once with an ended context")
	}
}

// TestServeErrorsAreReturned: a listener that fails makes Serve fail; Close returns that
// error rather than dropping it.
func TestServeErrorsAreReturned(t *testing.T) {
	ln := listen(t)
	broken := &failingListener{Listener: ln}
	s := serve.Start(context.Background(), broken, http.NotFoundHandler(), serve.Config{})
	<-s.Done()
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "accept refused") {
		t.Fatalf("Close = %v, want the Serve error", err)
	}
	if again := s.Close(); !errors.Is(again, err) && again.Error() != err.Error() {
		t.Errorf("a second Close = %v, want the same error", again)
	}
	_ = ln.Close()
}

func TestListenNamesWhoAndWhere(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	_, err := serve.Listen("mockidp", ln.Addr().String())
	if err == nil || !strings.HasPrefix(err.Error(), "mockidp: listen on "+ln.Addr().String()) {
		t.Fatalf("Listen on a taken port: %v", err)
	}
}

type failingListener struct{ net.Listener }

func (*failingListener) Accept() (net.Conn, error) { return nil, errors.New("accept refused") }
