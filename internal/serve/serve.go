// Package serve is the one lifecycle every server of the kit has: listen, serve in the
// background, and on Close (or when the context given at start ends) stop accepting, let
// requests in flight finish within a grace period, close what is left, and wait for every
// goroutine it started (handlers included) before returning. Serve's own error is returned,
// never dropped, and so are those of the server's background work.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of an HTTP server the kit runs.
const (
	// DefaultGrace is how long Close lets requests in flight finish before closing their
	// connections. (A graceful shutdown alone would also wait for idle connections a client
	// opened and never used.)
	DefaultGrace = 500 * time.Millisecond
	// DefaultReadHeaderTimeout bounds a slow client's headers (Slowloris).
	DefaultReadHeaderTimeout = 10 * time.Second
)

// Config is what a server sets beyond its handler; zero values take the defaults.
type Config struct {
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// Grace is how long Close waits for requests in flight (DefaultGrace).
	Grace time.Duration
	// ErrorLog receives net/http's own errors (TLS handshakes, panics in handlers); nil
	// keeps net/http's default, the standard logger.
	ErrorLog *log.Logger
	// OnClose, if set, runs once Close has stopped serving and every handler and function
	// started with Go has returned: it releases what they used (a client's idle connections,
	// say). Its error is Close's.
	OnClose func() error
}

// Server is an HTTP server on its own listener, with goroutines tied to its life.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	grace   time.Duration
	onClose func() error

	ctx    context.Context // ends once Close has stopped serving: the server's background work stops
	cancel context.CancelFunc
	watch  func() bool // stops the context.AfterFunc on the start context; set under mu

	// mu orders stopping against new work: once stopping is set, nothing is added to running,
	// so Close's running.Wait never races an Add.
	mu       sync.Mutex
	stopping bool
	running  sync.WaitGroup // handlers in flight and functions started with Go
	errs     []error        // of the functions started with Go

	served    chan struct{} // closed when Serve has returned
	serveErr  error
	closeOnce sync.Once
	closeErr  error
}

// Listen opens a TCP listener on addr (host:port; port 0 picks a free one), naming who asked
// in the error.
func Listen(who, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", who, addr, err)
	}
	return ln, nil
}

// Start serves h on ln until Close is called or ctx ends (a ctx that never ends, such as
// context.Background, costs no goroutine). The server owns ln from here on.
func Start(ctx context.Context, ln net.Listener, h http.Handler, c Config) *Server {
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	s := &Server{ln: ln, grace: c.Grace, onClose: c.OnClose, served: make(chan struct{})}
	s.srv = &http.Server{Handler: s.track(h), ReadHeaderTimeout: c.ReadHeaderTimeout, IdleTimeout: c.IdleTimeout,
		MaxHeaderBytes: c.MaxHeaderBytes, ErrorLog: c.ErrorLog}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.srv.BaseContext = func(net.Listener) context.Context { return s.ctx }
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	// Under mu: with ctx already ended the callback runs at once, and its Close must find watch.
	s.mu.Lock()
	s.watch = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.mu.Unlock()
	return s
}

// track counts h's calls, so that Close can wait for them: http.Server.Close cuts connections
// but does not wait for their handlers. A request that arrives once Close has cut the
// connections (it was read just before) is answered 503 without reaching h.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			http.Error(w, "server closing", http.StatusServiceUnavailable)
			return
		}
		s.running.Add(1)
		s.mu.Unlock()
		defer s.running.Done()
		h.ServeHTTP(w, r)
	})
}

// URL is "http://" and the listen address.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Go runs fn in a goroutine tied to the server: its ctx ends once Close has stopped serving,
// and Close returns only after fn has, with fn's error among its own. Cleanup that must follow
// the end of serving (closing what the handlers use) waits for ctx.Done there. Called once
// Close has begun, Go runs fn at once in the caller's goroutine, with ctx already ended (its
// error then reaches Close's only if Close has not returned yet).
func (s *Server) Go(fn func(ctx context.Context) error) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		s.keep(fn(s.ctx))
		return
	}
	s.running.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.running.Done()
		s.keep(fn(s.ctx))
	}()
}

// keep records an error of a function started with Go.
func (s *Server) keep(err error) {
	if err != nil {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
	}
}

// Done is closed when the server has stopped serving, by Close or because Serve failed.
func (s *Server) Done() <-chan struct{} { return s.served }

// Close stops the server: no new connections, requests in flight get the grace period, then
// every connection is closed, the server's context ends, and Close waits for Serve, for the
// handlers still running (their request contexts have ended) and for every function started
// with Go, then runs Config.OnClose. It returns Serve's error, the shutdown's, and those of
// the functions started with Go and of OnClose, joined. Later calls wait for the first and
// return the same.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	return s.Shutdown(ctx)
}

// Shutdown is Close with the caller's deadline for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		stopWatching := s.watch
		s.mu.Unlock()
		stopWatching()
		err := s.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = s.srv.Close() // the grace is over: cut what is left
		}
		s.mu.Lock()
		s.stopping = true
		s.cancel()
		s.mu.Unlock()
		<-s.served
		s.running.Wait()
		if s.onClose != nil {
			s.keep(s.onClose())
		}
		s.mu.Lock()
		s.closeErr = errors.Join(append([]error{s.serveErr, err}, s.errs...)...)
		s.mu.Unlock()
	})
	return s.closeErr
}
