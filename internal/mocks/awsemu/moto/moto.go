// Package moto runs a moto_server process on a free loopback port, for differential tests of
// AWS API shapes and side-by-side benchmarks. moto answers the same APIs but enforces no
// policy, which is exactly what the comparisons show.
package moto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrNotInstalled says moto_server is not on PATH.
var ErrNotInstalled = errors.New("moto: moto_server is not on PATH (it ships with the Python package moto[server])")

// Server is a running moto_server.
type Server struct {
	cmd       *exec.Cmd
	endpoint  string
	done      chan error
	closeOnce sync.Once
}

// Option configures Start.
type Option func(*settings) error

type settings struct {
	host    string
	account string
}

// WithHost makes moto listen on host (an IP address of this machine, default 127.0.0.1), for
// example the Docker bridge's gateway address so that containers reach it.
func WithHost(host string) Option {
	return func(s *settings) error {
		if net.ParseIP(host) == nil {
			return fmt.Errorf("moto: WithHost: %q is not an IP address", host)
		}
		s.host = host
		return nil
	}
}

// WithAccount makes every request act in account id (moto's MOTO_ACCOUNT_ID; its default
// account is 123456789012), so that a fixture's ARNs name the account moto creates them in.
func WithAccount(id string) Option {
	return func(s *settings) error {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return fmt.Errorf("moto: WithAccount: account ID %q must be 12 digits", id)
		}
		s.account = id
		return nil
	}
}

// Start launches moto_server on 127.0.0.1 (or WithHost's address) and a free port, and waits
// until it answers.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg := settings{host: "127.0.0.1"}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := freePort(cfg.host)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", cfg.host, "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	if cfg.account != "" {
		cmd.Env = append(cmd.Env, "MOTO_ACCOUNT_ID="+cfg.account)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so Close ends moto's children too
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto: start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, endpoint: "http://" + net.JoinHostPort(cfg.host, strconv.Itoa(port)), done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("moto: moto_server exited before answering: %v", err)
		case <-ctx.Done():
			_ = s.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Close()
			return nil, fmt.Errorf("moto: moto_server did not answer on %s within 30s", s.endpoint)
		}
	}
}

// Endpoint is moto's base URL.
func (s *Server) Endpoint() string { return s.endpoint }

// PID is the process ID of moto_server, which also leads its process group (children
// included), for measuring the CPU it uses.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops moto_server and its children. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	})
	return nil
}

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("moto: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// EnvRequireMoto, set to 1 (CI sets it), turns "moto_server is not installed" from a skip into
// a failure in StartForTest.
const EnvRequireMoto = "MCPSSO_REQUIRE_MOTO"

// StartForTest starts moto_server for a test and stops it when the test ends. Without
// moto_server it skips t with the reason, or fails it when MCPSSO_REQUIRE_MOTO=1.
func StartForTest(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no moto_server")
	}
	m, err := Start(t.Context(), opts...)
	if errors.Is(err, ErrNotInstalled) && os.Getenv(EnvRequireMoto) != "1" {
		t.Skipf("%v (set %s=1 to fail instead)", err, EnvRequireMoto)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}
