package targets

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/target"
)

// externalWithCommand is an external target whose token command prints token and counts its
// runs in a file.
func externalWithCommand(t *testing.T, token string) (*External, func() int) {
	t.Helper()
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "token.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\necho run >> %s\necho '%s'\n", count, token)), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := target.Parse([]byte(fmt.Sprintf("mcpUrl: http://127.0.0.1:1/mcp\ntokens: {source: command, command: \"%s {user}\"}\nusers:\n  - {name: alice, tenant: acme}\n", script)))
	if err != nil {
		t.Fatal(err)
	}
	runs := func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
	return NewExternal(f), runs
}

func jwtExpiringAt(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":"alice","exp":%d}`, exp.Unix()))) + ".c2ln"
}

func TestACommandsTokenIsReusedUntilShortlyBeforeItExpires(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		token string
		runs  int // after three Token calls
	}{
		{"a JWT valid for an hour is fetched once", jwtExpiringAt(time.Now().Add(time.Hour)), 1},
		{"a JWT expiring within the margin is fetched every time", jwtExpiringAt(time.Now().Add(time.Minute)), 3},
		{"an opaque token is fetched every time", "opaque-token-123", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, runs := externalWithCommand(t, tc.token)
			for range 3 {
				tok, err := e.Token(ctx, "alice")
				if err != nil || tok != tc.token {
					t.Fatalf("Token = %q, %v", tok, err)
				}
			}
			if runs() != tc.runs {
				t.Fatalf("the command ran %d times, want %d", runs(), tc.runs)
			}
		})
	}
	// Time passing: the hour-long token is fetched again once it is within the margin.
	e, runs := externalWithCommand(t, jwtExpiringAt(time.Now().Add(time.Hour)))
	if _, err := e.Token(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	e.now = func() time.Time { return time.Now().Add(59 * time.Minute) }
	if _, err := e.Token(ctx, "alice"); err != nil || runs() != 2 {
		t.Fatalf("an hour later the command ran %d times (%v), want 2", runs(), err)
	}
}
