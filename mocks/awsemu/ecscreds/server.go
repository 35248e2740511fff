package ecscreds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a running credentials endpoint started by Start.
type Server struct {
	handler *Handler
	url     string
	srv     *http.Server
	done    chan struct{}
	serve   error // written before done is closed
}

// Start listens on 127.0.0.1 (or WithAddr) and serves a Handler for source until Close. ctx
// bounds only the start-up.
func Start(ctx context.Context, source Source, opts ...Option) (*Server, error) {
	h, err := New(source, opts...)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("ecscreds: listen on %s: %w", h.cfg.addr, err)
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
	s := &Server{
		handler: h,
		url:     "http://" + net.JoinHostPort(host, port) + h.cfg.path,
		srv:     &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done:    make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serve = err
		}
	}()
	return s, nil
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

// Close stops the server and closes open connections. It returns the error that stopped
// serving early, if any.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return errors.Join(err, s.serve)
}
