package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Server is a running MCP server started by Start: the MCP endpoint on one listener and, with
// WithMetricsAddr, Prometheus metrics on another.
type Server struct {
	handler    *Handler
	url        string
	metricsURL string
	servers    []*http.Server
	done       chan struct{}
}

// Start builds a Handler from awsCfg (the task role's SDK configuration; see New) and serves
// it on WithAddr until ctx ends or Close is called.
func Start(ctx context.Context, awsCfg aws.Config, opts ...Option) (*Server, error) {
	h, err := New(awsCfg, opts...)
	if err != nil {
		return nil, err
	}
	s := &Server{handler: h, done: make(chan struct{})}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("mcpserver: listen on %s: %w", h.cfg.addr, err)
	}
	s.url = baseURL(ln) + h.cfg.path
	listeners := []net.Listener{ln}
	s.servers = append(s.servers, newHTTPServer(h))
	if h.cfg.metricsAddr != "" {
		mln, err := lc.Listen(ctx, "tcp", h.cfg.metricsAddr)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("mcpserver: listen for metrics on %s: %w", h.cfg.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", h.Metrics())
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		s.metricsURL = baseURL(mln) + "/metrics"
		listeners = append(listeners, mln)
		s.servers = append(s.servers, newHTTPServer(mux))
	}
	served := make(chan struct{}, len(listeners))
	for i, l := range listeners {
		go func() {
			_ = s.servers[i].Serve(l)
			served <- struct{}{}
		}()
	}
	go func() {
		for range listeners {
			<-served
		}
		close(s.done)
	}()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// baseURL is http://host:port of a listener; a wildcard address is reachable on loopback.
func baseURL(ln net.Listener) string {
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// URL is the MCP endpoint's URL, e.g. http://127.0.0.1:8080/mcp.
func (s *Server) URL() string { return s.url }

// MetricsURL is the Prometheus endpoint's URL, or "" without WithMetricsAddr.
func (s *Server) MetricsURL() string { return s.metricsURL }

// Handler is the served Handler.
func (s *Server) Handler() *Handler { return s.handler }

// Close stops the listeners, waits up to five seconds for requests in flight, and ends
// sessions.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	<-s.done
	errs = append(errs, s.handler.Close(ctx))
	return errors.Join(errs...)
}
