package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
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
