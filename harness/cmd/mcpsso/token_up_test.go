package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTokenFindsTheRunningUp runs the binary as a developer does: `mcpsso up`, then
// `mcpsso token --user alice` with no flag and no MCPSSO_ISSUER; the gateway accepts that token.
// When up stops its state file goes, and the same command exits 2 saying how to start one.
func TestTokenFindsTheRunningUp(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports, with a state file of its own
	bin := buildBinary(t)
	state := filepath.Join(t.TempDir(), "up.json")
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MCPSSO_ISSUER=") || strings.HasPrefix(kv, envUpState+"=")
	})
	env = append(env, envUpState+"="+state)
	up := &upProcess{serveProcess: startServe(t, bin, env, "ready ", "up", "--port-base", fmt.Sprint(freePortBase(t)))}
	up.stopWithin = 15 * time.Second
	mcpURL := up.printed("ready ")
	if mcpURL == "" {
		t.Fatalf("no ready line; stderr:\n%s", up.stderr.String())
	}
	recorded, err := readUpStateFile(state)
	if err != nil || recorded.MCP != mcpURL {
		t.Fatalf("state file while up runs: %+v, %v; want one naming %s", recorded, err, mcpURL)
	}

	token := func() (code int, stdout, stderr string) {
		cmd := exec.Command(bin, "token", "--user", "alice")
		cmd.Env = env
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errOut.String()
	}
	code, stdout, stderr := token()
	if code != 0 {
		t.Fatalf("mcpsso token --user alice against the running up: exit %d: %s", code, stderr)
	}
	if got := postWhoami(t, mcpURL, strings.TrimSpace(stdout)); got != http.StatusOK {
		t.Fatalf("the gateway answered the token with HTTP %d, want 200\n%s", got, up.stderr.String())
	}

	up.interrupt(t)
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("up left its state file behind (%v)", err)
	}
	code, stdout, stderr = token()
	if code != exitInput || stdout != "" || !strings.Contains(stderr, "start one with `mcpsso up`") {
		t.Fatalf("with up stopped: exit %d, stdout %q, stderr %q; want exit 2 saying how to start one", code, stdout, stderr)
	}
}
