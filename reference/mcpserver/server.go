package mcpserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpsso/mcpsso/internal/serve"
)

// Server is a running MCP server started by Start: the MCP endpoint on one listener and, with
// WithMetricsAddr, Prometheus metrics on another.
type Server struct {
	handler    *Handler
	url        string
	metricsURL string
	mcp        *serve.Server
	metrics    *serve.Server // nil without WithMetricsAddr
}

// closeGrace is how long Close lets MCP requests in flight finish: a tool call may be an S3
// transfer. (A session's open event stream holds it all that time; the cut then ends it.)
const closeGrace = 5 * time.Second

// Start builds a Handler from awsCfg (the task role's SDK configuration; see New) and serves
// it on WithAddr until ctx ends or Close is called.
func Start(ctx context.Context, awsCfg aws.Config, opts ...Option) (*Server, error) {
	h, err := New(awsCfg, opts...)
	if err != nil {
		return nil, err
	}
	ln, err := serve.Listen("mcpserver", h.cfg.addr)
	if err != nil {
		return nil, errors.Join(err, h.Close(context.Background()))
	}
	var mln net.Listener
	if h.cfg.metricsAddr != "" {
		if mln, err = serve.Listen("mcpserver: metrics", h.cfg.metricsAddr); err != nil {
			_ = ln.Close()
			return nil, errors.Join(err, h.Close(context.Background()))
		}
	}
	s := &Server{handler: h, url: baseURL(ln) + h.cfg.path}
	// Sessions end once the last MCP request has returned.
	endSessions := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		return h.Close(ctx)
	}
	s.mcp = serve.Start(ctx, ln, h, serve.Config{Grace: closeGrace, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, OnClose: endSessions})
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", h.Metrics())
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		s.metricsURL = baseURL(mln) + "/metrics"
		s.metrics = serve.Start(ctx, mln, mux, serve.Config{IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10})
	}
	return s, nil
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

// Close stops both listeners: MCP requests in flight get five seconds to finish (scrapes
// serve.DefaultGrace), then every connection is closed, sessions end, and Close waits for
// what the servers started. It returns the errors that stopped either server early, if any.
func (s *Server) Close() error {
	err := s.mcp.Close()
	if s.metrics != nil {
		err = errors.Join(err, s.metrics.Close())
	}
	return err
}
