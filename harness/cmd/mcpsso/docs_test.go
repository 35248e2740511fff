package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/clidoc"
)

// cliReference is the checked-in CLI reference, from this package's directory.
var cliReference = filepath.Join("..", "..", "..", "docs", "cli")

// TestTheCLIReferenceIsUpToDate: docs/cli is exactly what the command tree renders, so a
// command, flag or help text changed without regenerating the reference fails here.
func TestTheCLIReferenceIsUpToDate(t *testing.T) {
	diffs, err := clidoc.Diff(newRootCommand(), cliReference)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("docs/cli is out of date with the command tree; regenerate it with\n"+
			"  go run ./harness/cmd/mcpsso docs cli --dir docs/cli   (or: make docs)\n  %s", strings.Join(diffs, "\n  "))
	}
}

// TestDocsCLIWritesAndChecks: `mcpsso docs cli` writes the reference and --check fails, naming
// the file, once a file no longer matches.
func TestDocsCLIWritesAndChecks(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"docs", "cli", "--dir", dir}, nil, &out, &errOut); code != 0 {
		t.Fatalf("docs cli: exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "mcpsso_aws_serve.md")); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"docs", "cli", "--dir", dir, "--check"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("docs cli --check right after writing: exit %d: %s", code, errOut.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "mcpsso_up.md"), []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run([]string{"docs", "cli", "--dir", dir, "--check"}, nil, &out, &errOut); code != exitFailure || !strings.Contains(errOut.String(), "mcpsso_up.md: line 1") {
		t.Fatalf("docs cli --check after an edit: exit %d, %q; want 1 naming mcpsso_up.md", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"docs", "cli"}, nil, &out, &errOut); code != exitInput || !strings.Contains(errOut.String(), "--dir") {
		t.Fatalf("docs cli without --dir: exit %d, %q; want 2 naming --dir", code, errOut.String())
	}
	if _, ok := clidoc.Files(newRootCommand())["mcpsso_docs.md"]; ok {
		t.Error("the hidden docs command appears in the reference")
	}
}
