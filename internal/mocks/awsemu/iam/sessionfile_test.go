package iam_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
)

// TestABrokenSessionFileIsAnErrorNamingItsLine: the store does not start on a session file it
// cannot read, rather than forget sessions silently.
func TestABrokenSessionFileIsAnErrorNamingItsLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.jsonl")
	if err := os.WriteFile(path, []byte("{\"AccessKeyID\":\"ASIAX\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := iam.NewStore(iam.WithSessionFile(path)).LoadError()
	if err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Fatalf("LoadError = %v, want one naming %s:2", err, path)
	}
	if err := iam.NewStore(iam.WithSessionFile(filepath.Join(t.TempDir(), "absent.jsonl"))).LoadError(); err != nil {
		t.Fatalf("a missing file is a fresh start, not an error: %v", err)
	}
}
