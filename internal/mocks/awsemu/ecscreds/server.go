package ecscreds

import (
	"context"
	"fmt"
	"net"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// Server is a running credentials endpoint started by Start.
type Server struct {
	handler *Handler
	url     string
	srv     *serve.Server
}

// Start listens on 127.0.0.1 (or WithAddr) and serves a Handler for source until ctx ends or
// Close is called.
func Start(ctx context.Context, source Source, opts ...Option) (*Server, error) {
	h, err := New(source, opts...)
	if err != nil {
		return nil, err
	}
	ln, err := serve.Listen("ecscreds", h.cfg.addr)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("ecscreds: listener address %q: %w", ln.Addr(), err)
	}
	// A wildcard listener is reachable on loopback, the one http host every SDK accepts.
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return &Server{handler: h, url: "http://" + net.JoinHostPort(host, port) + h.cfg.path,
		srv: serve.Start(ctx, ln, h, serve.Config{})}, nil
}

// URL is the full credentials URI, the value of AWS_CONTAINER_CREDENTIALS_FULL_URI.
func (s *Server) URL() string { return s.url }

// AuthorizationToken is the value of AWS_CONTAINER_AUTHORIZATION_TOKEN.
func (s *Server) AuthorizationToken() string { return s.handler.AuthorizationToken() }

// Env returns the two environment variables, as KEY=value, that point a subprocess's SDK at
// this endpoint.
func (s *Server) Env() []string {
	return []string{
		EnvFullURI + "=" + s.url,
		EnvAuthorizationToken + "=" + s.handler.AuthorizationToken(),
	}
}

// Handler returns the served Handler (for Invalidate).
func (s *Server) Handler() *Handler { return s.handler }

// Close stops the server: a fetch in flight gets serve.DefaultGrace to finish, then every
// connection is closed and Close waits for what the server started. It returns the error that
// stopped serving early, if any.
func (s *Server) Close() error { return s.srv.Close() }
