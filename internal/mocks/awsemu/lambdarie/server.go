package lambdarie

import (
	"context"
	"fmt"
	"net"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// Server is an Emulator serving the Invoke API on a listener, started by Start.
type Server struct {
	emu      *Emulator
	endpoint string
	srv      *serve.Server
}

// Start starts the handler process and serves the Invoke API on 127.0.0.1:0 (or WithAddr)
// until ctx ends or Close is called.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	// Listen before starting the handler, so a bad address starts nothing.
	ln, err := serve.Listen("lambdarie", cfg.addr)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("lambdarie: listener address %q: %w", ln.Addr(), err)
	}
	emu, err := New(opts...)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	// A wildcard listener is reachable on loopback.
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s := &Server{emu: emu, endpoint: "http://" + net.JoinHostPort(host, port), srv: serve.Start(ctx, ln, emu, serve.Config{})}
	// Once serving has stopped, the process goes: an invocation the grace did not see through
	// fails, and its handler, which waits for the process rather than for its caller, returns.
	s.srv.Go(func(ctx context.Context) error {
		<-ctx.Done()
		return emu.Close()
	})
	return s, nil
}

// Endpoint is the Invoke API's base URL (http://HOST:PORT), what gateway.LambdaInvoke and
// `mcpsso gateway serve --authorizer-url` take.
func (s *Server) Endpoint() string { return s.endpoint }

// InvokeURL is the full invocation URL of the function under the name "function".
func (s *Server) InvokeURL() string {
	return s.endpoint + "/2015-03-31/functions/" + DefaultFunctionName + "/invocations"
}

// Close stops serving: an invocation in flight gets serve.DefaultGrace to finish, then every
// connection is closed, the handler process is killed, and Close waits for everything the
// server started. It returns the error that stopped serving early, if any.
func (s *Server) Close() error { return s.srv.Close() }
