package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/serve"
)

// The `vpc` commands run inside a containers topology's networks (internal/harness/containers) where
// the host cannot go: they are the harness's hands there, so the group is hidden.
func newVPCCommand() *cobra.Command {
	cmd := groupCommand("vpc", "Helpers the harness runs inside a container topology's networks",
		`Helpers that internal/harness/containers runs, from the kit image, inside the networks of a container
topology, where the host cannot reach: wait until a port accepts connections, fetch the task
role's credentials from the container-credentials endpoint, relay the MCP server's metrics,
hold the MCP task's network namespace with the ECS agent's credentials address in it.
They are hidden because only the harness needs them.`)
	cmd.Hidden = true
	cmd.AddCommand(newVPCWaitTCPCommand(), newVPCTaskCredentialsCommand(), newVPCMetricsRelayCommand(), newVPCTaskEndpointCommand(), newVPCHTTPCommand(),
		newVPCRelayCommand())
	return cmd
}

func newVPCWaitTCPCommand() *cobra.Command {
	var addr string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait-tcp --addr HOST:PORT [--timeout D]",
		Short: "Wait until HOST:PORT accepts a TCP connection",
		Long: `Try to open a TCP connection to --addr every 100ms until one succeeds (exit 0) or --timeout
passes (exit 1). It is the readiness check for MCP server images that print nothing the harness
knows and may have no shell: it runs in its own container on the server's network.`,
		Example: `  mcpsso vpc wait-tcp --addr mcp:8080 --timeout 60s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(addr); err != nil || addr == "" {
				return fmt.Errorf("--addr %q: must be HOST:PORT", addr)
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: must be positive", timeout)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var d net.Dialer
			for {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err == nil {
					_ = c.Close()
					fmt.Fprintf(cmd.OutOrStdout(), "ready tcp://%s\n", addr)
					return nil
				}
				select {
				case <-ctx.Done():
					return failure{fmt.Errorf("%s accepted no TCP connection within %v: %w", addr, timeout, err)}
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "HOST:PORT to connect to (required)")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to keep trying")
	return cmd
}

// taskCredentials is what `vpc task-credentials` prints: the container-credentials endpoint's
// own JSON shape, so that anything reading ECS credentials reads it.
type taskCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration,omitempty"`
}

func newVPCTaskCredentialsCommand() *cobra.Command {
	var fullURI, token string
	cmd := &cobra.Command{
		Use:   "task-credentials [--full-uri URL] [--token T]",
		Short: "Print the task role's credentials from the container-credentials endpoint, as JSON",
		Long: `Fetch credentials from an ECS container-credentials endpoint the way the AWS SDK does
and print them on stdout as one JSON object:
{"AccessKeyId":"...","SecretAccessKey":"...","Token":"...","Expiration":"2026-01-02T03:04:05Z"}.

The endpoint is --full-uri, else $AWS_CONTAINER_CREDENTIALS_FULL_URI (with the token of --token
or $AWS_CONTAINER_AUTHORIZATION_TOKEN in the Authorization header), else
http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (no token: Fargate's form). Prefer
the variable over the flag for the token, so that it does not show in the process list. The
harness runs this inside the MCP task's network namespace of a container topology, where the
endpoint lives, to hand the task role to the conformance suites.`,
		Example: `  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/3f2a mcpsso vpc task-credentials
  AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8090/v2/credentials/x \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=... mcpsso vpc task-credentials`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			relative := false
			if !cmd.Flags().Changed("full-uri") {
				fullURI = os.Getenv(ecscreds.EnvFullURI)
				if rel := os.Getenv(ecscreds.EnvRelativeURI); fullURI == "" && rel != "" {
					fullURI, relative = "http://"+ecscreds.TaskAddress+rel, true
				}
			}
			if !cmd.Flags().Changed("token") {
				token = os.Getenv(ecscreds.EnvAuthorizationToken)
			}
			u, err := url.Parse(fullURI)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--full-uri %q: must be an http(s) URL (or set AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI)", fullURI)
			}
			if token == "" && !relative {
				return errors.New("--token: required with a full URI (or set AWS_CONTAINER_AUTHORIZATION_TOKEN); the endpoint refuses requests without it")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			p := endpointcreds.New(fullURI, func(o *endpointcreds.Options) {
				if !relative {
					o.AuthorizationToken = token
				}
			})
			c, err := p.Retrieve(ctx)
			if err != nil {
				return failure{fmt.Errorf("container credentials from %s: %w", fullURI, err)}
			}
			out := taskCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken}
			if c.CanExpire {
				out.Expiration = c.Expires.UTC().Format(time.RFC3339)
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
		},
	}
	cmd.Flags().StringVar(&fullURI, "full-uri", "", "the endpoint (default $AWS_CONTAINER_CREDENTIALS_FULL_URI)")
	cmd.Flags().StringVar(&token, "token", "", "the authorization token (default $AWS_CONTAINER_AUTHORIZATION_TOKEN)")
	return cmd
}

func newVPCMetricsRelayCommand() *cobra.Command {
	var addr, upstream string
	cmd := &cobra.Command{
		Use:   "metrics-relay --addr HOST:PORT --upstream URL",
		Short: "Serve GET /metrics by fetching an upstream Prometheus endpoint, and nothing else",
		Long: `Relay Prometheus scrapes: GET /metrics on --addr fetches --upstream (a /metrics URL) and
answers with its status, Content-Type and body; every other method or path gets 404 or 405 and
never reaches the upstream. Once listening it prints "ready <URL>" on stdout; it logs one JSON
line per scrape on stderr.

The harness runs it as the VPC's metrics agent: on the internal network beside the MCP server
and on a network with a published port, so the host can scrape the server's metrics while the
MCP endpoint itself stays unreachable.`,
		Example: `  mcpsso vpc metrics-relay --addr 0.0.0.0:9464 --upstream http://mcp:9090/metrics`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(upstream)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--upstream %q: must be an http(s) URL", upstream)
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("--addr %q: must be HOST:PORT", addr)
			}
			ln, err := serve.Listen("vpc metrics-relay", addr)
			if err != nil {
				return failure{err}
			}
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			return serveRelay(cmd, ln, metricsRelay(upstream, log), "/metrics")
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "0.0.0.0:9464", "HOST:PORT to serve /metrics on")
	cmd.Flags().StringVar(&upstream, "upstream", "", "the Prometheus endpoint to relay (required)")
	return cmd
}

// relayGrace is how long a relay lets requests in flight finish once its command is told to stop.
const relayGrace = 5 * time.Second

// serveRelay serves h on ln until the command's context ends, having printed "ready" and the
// URL of path on it. A relay that stops serving on its own ends the command with the reason.
func serveRelay(cmd *cobra.Command, ln net.Listener, h http.Handler, path string) error {
	srv := serve.Start(cmd.Context(), ln, h, serve.Config{Grace: relayGrace})
	fmt.Fprintf(cmd.OutOrStdout(), "ready %s%s\n", srv.URL(), path)
	<-srv.Done()
	return shutDown(srv)
}

// metricsRelay answers GET /metrics from upstream and refuses everything else, so the relay
// cannot be turned into a way to the upstream's other paths.
func metricsRelay(upstream string, log *slog.Logger) http.Handler {
	return getRelay("/metrics", upstream, "scrape", func(in, out *http.Request) {
		if accept := in.Header.Get("Accept"); accept != "" {
			out.Header.Set("Accept", accept)
		}
	}, log)
}

// getRelay answers GET path by fetching upstream (setHeaders copies or adds what the upstream
// needs) and answers with its status, Content-Type and body; any other path is 404 and any
// other method 405, and neither reaches the upstream. It logs one JSON line per relayed
// request, named what.
func getRelay(path, upstream, what string, setHeaders func(in, out *http.Request), log *slog.Logger) http.Handler {
	client := &http.Client{Timeout: 10 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		setHeaders(r, req)
		resp, err := client.Do(req)
		if err != nil {
			log.Warn(what+" failed", "upstream", upstream, "error", err.Error())
			http.Error(w, "relay: upstream: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(resp.StatusCode)
		n, _ := io.Copy(w, resp.Body)
		log.Info(what+" relayed", "upstream", upstream, "status", resp.StatusCode, "bytes", n)
	})
	return mux
}

func newVPCRelayCommand() *cobra.Command {
	var addr, upstream string
	cmd := &cobra.Command{
		Use:   "relay --addr HOST:PORT --upstream URL",
		Short: "Forward every request to an upstream as it comes: another service in the VPC",
		Long: `Forward every request on --addr to --upstream (scheme and host; the request's path and query
are kept), with the Host header set to the upstream's and nothing else changed or added: no
X-Forwarded-* headers, no authentication. Once listening it prints "ready <URL>" on stdout; it
logs one JSON line per request on stderr.

The harness runs it beside the MCP server on a topology's internal network, with a port
published on the host, to stand for another service in the VPC (or an SSRF in one) that can
reach the MCP server without the gateway: the suites' direct-mcp specs send forged decided
headers through it, which a correct MCP server refuses.`,
		Example: `  mcpsso vpc relay --addr 0.0.0.0:8090 --upstream http://mcp:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(upstream)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
				return fmt.Errorf("--upstream %q: must be an http(s) URL of a scheme and host only", upstream)
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("--addr %q: must be HOST:PORT", addr)
			}
			ln, err := serve.Listen("vpc relay", addr)
			if err != nil {
				return failure{err}
			}
			return serveRelay(cmd, ln, relay(u, slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))), "")
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "0.0.0.0:8090", "HOST:PORT to listen on")
	cmd.Flags().StringVar(&upstream, "upstream", "", "the scheme and host to forward to (required)")
	return cmd
}

// relay forwards every request to upstream unchanged but for the Host, as a service that can
// reach the upstream directly would send it.
func relay(upstream *url.URL, log *slog.Logger) http.Handler {
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream) // and Host: the upstream's, as a client of it would name it
			r.Out.URL.Path, r.Out.URL.RawPath = r.In.URL.Path, r.In.URL.RawPath
		},
		Transport:     &http.Transport{}, // no proxy from the environment
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		p.ServeHTTP(rec, r)
		log.Info("relayed", "method", r.Method, "path", r.URL.Path, "upstream", upstream.String(), "status", rec.status)
	})
}

// statusRecorder notes the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func newVPCHTTPCommand() *cobra.Command {
	var method, target, data string
	var headers []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "http --url URL [--method M] [--header 'K: V']... [--data BODY] [--timeout D]",
		Short: "Send one HTTP request and print the status and the body",
		Long: `Send one HTTP request and print "HTTP <status>" and then the body (at most 64 KiB) on
stdout; exit 0 on any HTTP answer, 1 when none came within --timeout. A "Host: ..." header sets
the request's Host. The harness runs it from a container on one of a topology's networks to
show what answers there: a check that an address is unreachable needs an HTTP exchange whose
answer only the real server gives, since some networks accept every connection.`,
		Example: `  mcpsso vpc http --method POST --url http://mcp:8080/mcp --header 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"ping"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--url %q: must be an http(s) URL", target)
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: must be positive", timeout)
			}
			req, err := http.NewRequestWithContext(cmd.Context(), method, target, strings.NewReader(data))
			if err != nil {
				return fmt.Errorf("--method %q: %w", method, err)
			}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return fmt.Errorf("--header %q: must be 'Name: value'", h)
				}
				if strings.EqualFold(strings.TrimSpace(k), "Host") {
					req.Host = strings.TrimSpace(v)
					continue
				}
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			resp, err := (&http.Client{Timeout: timeout, Transport: &http.Transport{}}).Do(req)
			if err != nil {
				return failure{fmt.Errorf("%s %s: %w", method, target, err)}
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			fmt.Fprintf(cmd.OutOrStdout(), "HTTP %d\n%s\n", resp.StatusCode, body)
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "the URL (required)")
	cmd.Flags().StringVar(&method, "method", http.MethodGet, "the HTTP method")
	cmd.Flags().StringArrayVar(&headers, "header", nil, "a request header 'Name: value' (repeatable)")
	cmd.Flags().StringVar(&data, "data", "", "the request body")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}
