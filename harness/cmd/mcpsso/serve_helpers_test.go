package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startWithin bounds how long startServe waits for the line it waits for.
const startWithin = 2 * time.Minute

// serveProcess is the mcpsso binary running a serving command (`aws serve`, `idp serve`,
// `up`, ...) as a subprocess, as a script would run it.
type serveProcess struct {
	cmd        *exec.Cmd
	name       string        // the command, for messages: "aws serve", "up"
	stderr     *syncBuffer   // everything it wrote to stderr so far
	lines      []string      // its stdout lines up to the one startServe waited for
	stopWithin time.Duration // how long interrupt waits for it to exit
	exited     chan struct{} // closed once it has exited
	exitErr    error         // cmd.Wait's result, set before exited is closed
}

// startServe runs bin with args and env (as exec.Cmd.Env: nil inherits this process's), and
// returns once it prints a stdout line starting with until. It fails the test with the
// output so far if the process closes stdout first or nothing comes within startWithin.
// The process is killed when the test ends; the rest of its stdout is discarded.
func startServe(t *testing.T, bin string, env []string, until string, args ...string) *serveProcess {
	t.Helper()
	return startServeOwned(t, t, bin, env, until, args...)
}

// startServeOwned is startServe for a process that outlives the subtest t starting it: it is
// killed when owner (t or a parent of t) ends.
func startServeOwned(t, owner *testing.T, bin string, env []string, until string, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, args...), name: commandName(args), stderr: &syncBuffer{},
		stopWithin: 10 * time.Second, exited: make(chan struct{})}
	p.cmd.Env = env
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, p.stderr
	// A child the process started may keep stderr open after it is killed.
	p.cmd.WaitDelay = 5 * time.Second
	err = p.cmd.Start()
	w.Close()
	if err != nil {
		stdout.Close()
		t.Fatal(err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	owner.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		stdout.Close()
	})

	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	// Whether it is found or the test fails, keep reading so the process never blocks on stdout.
	defer func() {
		go func() {
			for range lines {
			}
		}()
	}()
	timeout := time.After(startWithin)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("mcpsso %s closed stdout without a line starting with %q; stdout %q, stderr %s", p.name, until, p.lines, p.stderr.String())
			}
			p.lines = append(p.lines, line)
			if strings.HasPrefix(line, until) {
				return p
			}
		case <-timeout:
			t.Fatalf("mcpsso %s printed no line starting with %q within %s; stdout %q, stderr %s", p.name, until, startWithin, p.lines, p.stderr.String())
		}
	}
}

// commandName is the part of args before the first flag: "aws serve", "lambda rie", "up".
func commandName(args []string) string {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			return strings.Join(args[:i], " ")
		}
	}
	return strings.Join(args, " ")
}

// printed is what follows prefix on the first stdout line starting with it ("ready " gives
// the URL), or "" if no line does.
func (p *serveProcess) printed(prefix string) string {
	for _, l := range p.lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
	return ""
}

// require is printed(prefix), failing the test with the output when it is empty.
func (p *serveProcess) require(t *testing.T, prefix string) string {
	t.Helper()
	v := p.printed(prefix)
	if v == "" {
		t.Fatalf("no line starting with %q; stdout %q, stderr %s", prefix, p.lines, p.stderr.String())
	}
	return v
}

// interrupt sends SIGINT and fails the test unless the process exits cleanly within stopWithin.
func (p *serveProcess) interrupt(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Fatalf("exit after SIGINT: %v; stderr %s", p.exitErr, p.stderr.String())
		}
	case <-time.After(p.stopWithin):
		t.Fatalf("mcpsso %s did not stop within %s of SIGINT", p.name, p.stopWithin)
	}
}

// syncBuffer collects what the process writes; the test may read it while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
