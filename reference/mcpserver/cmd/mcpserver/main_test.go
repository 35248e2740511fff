package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// TestTheBinaryBuildsStaticForAScratchImage builds the binary as the Containerfile expects:
// CGO_ENABLED=0, no dynamic loader, so that FROM scratch can run it.
func TestTheBinaryBuildsStaticForAScratchImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH to build the binary with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mcpserver")
	// No -trimpath, as the kit's own static builds: the packages are then in the build cache already.
	build := exec.Command(goTool, "build", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var cgo string
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" {
			cgo = s.Value
		}
	}
	if cgo != "0" {
		t.Errorf("the binary was built with CGO_ENABLED=%q", cgo)
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("the binary is dynamically linked (%v); FROM scratch has no loader", p.Type)
			}
		}
	}

	var stdout, stderr bytes.Buffer
	help := exec.Command(bin, "-help")
	help.Stdout, help.Stderr = &stdout, &stderr
	if err := help.Run(); err != nil || !strings.Contains(stderr.String(), "x-decided-role") || !strings.Contains(stderr.String(), "-session-cache") {
		t.Errorf("-help: %v\n%s", err, stderr.String())
	}
	bad := exec.Command(bin, "-addr", "nohost")
	var exit *exec.ExitError
	if out, err := bad.CombinedOutput(); !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "--addr") {
		t.Errorf("-addr nohost: %v %s; want exit 2 naming --addr", err, out)
	}
}

func TestRunRejectsBadInputWithExitTwo(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"positional"}, {"-log-level", "loud"}, {"-bucket-template", "x"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2", args, code, stdout.String(), stderr.String())
		}
	}
}

// TestAnUnlistedOriginIsToldTheFlag: the binary's refusal of a browser origin names its own
// -allowed-origin flag, the one its operator can pass.
func TestAnUnlistedOriginIsToldTheFlag(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1") // the refusal comes before any AWS call
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv(mcpserver.EnvContextProofSecret, contextproof.NewSecret())
	ctx, cancel := context.WithCancel(t.Context())
	stdout := &lineWriter{lines: make(chan string, 4)}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, stdout, io.Discard) }()
	exited := false
	defer func() {
		cancel()
		if !exited {
			<-done
		}
	}()
	var url string
	select {
	case line := <-stdout.lines:
		url = strings.TrimPrefix(line, "ready ")
	case code := <-done:
		exited = true
		t.Fatalf("exited with %d before it was ready", code)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready within 30 s")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{}`))
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "listed with mcpserver --allowed-origin") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// lineWriter hands each complete line written to it to a channel.
type lineWriter struct {
	partial []byte
	lines   chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
}
