package clidoc_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/clidoc"
)

// tree is a small command tree: a group with a runnable child, a hidden command and a
// deprecated one.
func tree() *cobra.Command {
	run := func(*cobra.Command, []string) error { return nil }
	root := &cobra.Command{Use: "kit", Short: "A kit", Long: "The kit does things.", Version: "v1"}
	group := &cobra.Command{Use: "aws", Short: "AWS things | and more", RunE: run}
	serve := &cobra.Command{Use: "serve [--addr A]", Short: "Serve it", Long: "Serve it until Ctrl-C.",
		Example: "  kit aws serve --addr :1", RunE: run}
	serve.Flags().String("addr", "127.0.0.1:1", "listen address")
	group.PersistentFlags().Bool("verbose", false, "say more")
	group.AddCommand(serve)
	hidden := &cobra.Command{Use: "secret", Short: "Hidden", Hidden: true, RunE: run}
	old := &cobra.Command{Use: "old", Short: "Old", Deprecated: "use aws", RunE: run}
	root.AddCommand(group, hidden, old)
	return root
}

func names(files map[string][]byte) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestFilesHoldOneFilePerVisibleCommand(t *testing.T) {
	files := clidoc.Files(tree())
	want := []string{"kit.md", "kit_aws.md", "kit_aws_serve.md", "kit_completion.md", "kit_completion_bash.md",
		"kit_completion_fish.md", "kit_completion_powershell.md", "kit_completion_zsh.md"}
	if got := names(files); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v (hidden, deprecated and help commands left out, completion put in)", got, want)
	}
	serve := string(files["kit_aws_serve.md"])
	for _, part := range []string{
		clidoc.Header + "\n\n# kit aws serve\n\nServe it.\n",
		"```text\nServe it until Ctrl-C.\n```",
		"## Usage\n\n```text\nkit aws serve [--addr A] [flags]\n```",
		"## Examples\n\n```text\n  kit aws serve --addr :1\n```",
		`--addr string   listen address (default "127.0.0.1:1")`,
		"-h, --help",
		"## Flags inherited from parent commands\n\n```text\n      --verbose   say more\n```",
		"## See also\n\n- [kit aws](kit_aws.md) — AWS things \\| and more\n",
	} {
		if !strings.Contains(serve, part) {
			t.Errorf("kit_aws_serve.md lacks %q:\n%s", part, serve)
		}
	}
	root := string(files["kit.md"])
	if !strings.Contains(root, "| [kit aws](kit_aws.md) | AWS things \\| and more |") || strings.Contains(root, "secret") || strings.Contains(root, "kit old") {
		t.Errorf("kit.md lists the wrong subcommands:\n%s", root)
	}
	if !strings.Contains(root, "-v, --version") {
		t.Errorf("kit.md lacks the version flag the program has when it runs:\n%s", root)
	}
}

func TestDiffFindsEveryWayADirectoryIsOutOfDate(t *testing.T) {
	dir := t.TempDir()
	if diffs, err := clidoc.Diff(tree(), filepath.Join(dir, "none")); err != nil || len(diffs) != 8 {
		t.Fatalf("a missing directory: %v, %v; want every file missing", diffs, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kit_gone.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := clidoc.Write(tree(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kit_gone.md")); !os.IsNotExist(err) {
		t.Error("Write kept the .md file of a command that does not exist")
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error("Write removed a file that is not a command's reference")
	}
	if diffs, err := clidoc.Diff(tree(), dir); err != nil || len(diffs) != 0 {
		t.Fatalf("right after Write: %v, %v", diffs, err)
	}

	changed := tree()
	changed.Commands()[0].Commands()[0].Flags().Int("port", 0, "a new flag")
	changed.AddCommand(&cobra.Command{Use: "new", Short: "New", RunE: func(*cobra.Command, []string) error { return nil }})
	if err := os.WriteFile(filepath.Join(dir, "kit_stale.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "kit_completion_zsh.md")); err != nil {
		t.Fatal(err)
	}
	diffs, err := clidoc.Diff(changed, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(diffs, "\n")
	for _, want := range []string{
		"kit.md: line ",           // the new command in the root's table
		"kit_aws_serve.md: line ", // the new flag
		"kit_new.md: missing",     // the new command's file
		"kit_completion_zsh.md: missing",
		"kit_stale.md: no such command (stale file)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Diff does not report %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, `the command tree gives "      --port int`) {
		t.Errorf("Diff does not show the first differing line of kit_aws_serve.md:\n%s", got)
	}
}
