package lambdarie

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is an Emulator serving the Invoke API on a listener, started by Start.
type Server struct {
	emu      *Emulator
	endpoint string
	srv      *http.Server
	done     chan struct{}
	serveErr error // written before done is closed
}

// Start starts the handler process and serves the Invoke API on 127.0.0.1:0 (or WithAddr)
// until Close. ctx bounds only the start-up.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	// Listen before starting the handler, so a bad address starts nothing.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: listen on %s: %w", cfg.addr, err)
	}
	emu, err := New(opts...)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		_ = emu.Close()
		return nil, fmt.Errorf("lambdarie: listener address %q: %w", ln.Addr(), err)
	}
	// A wildcard listener is reachable on loopback.
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s := &Server{
		emu:      emu,
		endpoint: "http://" + net.JoinHostPort(host, port),
		srv:      &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

// Endpoint is the Invoke API's base URL (http://HOST:PORT), what gateway.LambdaInvoke and
// `mcpsso gateway serve --authorizer-url` take.
func (s *Server) Endpoint() string { return s.endpoint }

// InvokeURL is the full invocation URL of the function under the name "function".
func (s *Server) InvokeURL() string {
	return s.endpoint + "/2015-03-31/functions/" + DefaultFunctionName + "/invocations"
}

// Close stops serving, then kills the handler process. It returns the error that stopped
// serving early, if any.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return errors.Join(err, s.emu.Close(), s.serveErr)
}
