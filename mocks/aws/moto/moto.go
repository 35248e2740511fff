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
	"sync"
	"syscall"
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

// Start launches moto_server on 127.0.0.1 and a free port, and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so Close ends moto's children too
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto: start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
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

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("moto: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
