// Package clidoc renders the Markdown reference of a cobra command tree — one file per visible
// command, named after its path (mcpsso_aws_serve.md for `mcpsso aws serve`) — writes it to a
// directory, and says how a directory differs from it, so that a test can hold the checked-in
// reference to the commands.
//
// A file holds what `--help` shows, in a fixed order: the one-line summary, the long
// description, the usage line, the examples, the command's own flags, the flags it inherits, its
// subcommands and its parent. Hidden and deprecated commands are left out, as `--help` leaves
// them out; the help and completion commands cobra adds when the program runs are put in, so
// the reference matches the binary.
package clidoc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// Header is the first line of every generated file.
const Header = "<!-- Generated from the command tree by `mcpsso docs cli`; do not edit. -->"

// Files renders the reference of root and every visible command under it: file name → content.
// It completes the tree as cobra does when the program runs (help flags, the version flag, the
// help and completion commands), so call it on a tree built for the purpose.
func Files(root *cobra.Command) map[string][]byte {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if root.Version != "" {
		root.InitDefaultVersionFlag()
	}
	out := map[string][]byte{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		out[FileName(c)] = render(c)
		for _, sub := range visible(c) {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// FileName is the reference file of c: its command path with spaces as underscores, ".md".
func FileName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

// visible are c's subcommands that --help lists, by name.
func visible(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			out = append(out, sub)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

func render(c *cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString(Header + "\n\n")
	fmt.Fprintf(&b, "# %s\n\n", c.CommandPath())
	if c.Short != "" {
		fmt.Fprintf(&b, "%s.\n\n", strings.TrimSuffix(c.Short, "."))
	}
	if long := strings.TrimSpace(c.Long); long != "" && long != strings.TrimSpace(c.Short) {
		block(&b, "", long)
	}
	if c.Runnable() {
		block(&b, "Usage", c.UseLine())
	}
	if c.HasExample() {
		block(&b, "Examples", c.Example)
	}
	if fl := c.NonInheritedFlags(); fl.HasAvailableFlags() {
		block(&b, "Flags", fl.FlagUsages())
	}
	if fl := c.InheritedFlags(); fl.HasAvailableFlags() {
		block(&b, "Flags inherited from parent commands", fl.FlagUsages())
	}
	if subs := visible(c); len(subs) > 0 {
		b.WriteString("## Commands\n\n| command | what it does |\n|---|---|\n")
		for _, sub := range subs {
			fmt.Fprintf(&b, "| [%s](%s) | %s |\n", sub.CommandPath(), FileName(sub), cell(sub.Short))
		}
		b.WriteString("\n")
	}
	if p := c.Parent(); p != nil {
		fmt.Fprintf(&b, "## See also\n\n- [%s](%s) — %s\n", p.CommandPath(), FileName(p), cell(p.Short))
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// block writes text verbatim in a fenced block, under a heading when there is one: help text is
// laid out for a terminal, and a fence keeps its indentation and characters as they are.
func block(b *bytes.Buffer, heading, text string) {
	if heading != "" {
		fmt.Fprintf(b, "## %s\n\n", heading)
	}
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%stext\n%s\n%s\n\n", fence, strings.TrimRight(text, " \n"), fence)
}

// cell makes text safe inside a Markdown table cell.
func cell(text string) string {
	return strings.ReplaceAll(text, "|", `\|`)
}

// Write makes dir hold exactly the reference of root: it writes every file of Files(root) and
// removes the other .md files in dir (commands that no longer exist). Other files are left.
func Write(root *cobra.Command, dir string) error {
	files := Files(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	existing, err := markdownFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range existing {
		if _, ok := files[name]; !ok {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Diff says how dir differs from the reference of root, one line per file that is missing, is
// not a command's (stale) or differs (with its first differing line); nil when dir is up to date.
func Diff(root *cobra.Command, dir string) ([]string, error) {
	files := Files(root)
	existing, err := markdownFiles(dir)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, name := range existing {
		if _, ok := files[name]; !ok {
			diffs = append(diffs, name+": no such command (stale file)")
		}
	}
	for name, want := range files {
		have, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			diffs = append(diffs, name+": missing")
		case err != nil:
			return nil, err
		case !bytes.Equal(have, want):
			diffs = append(diffs, name+": "+firstDifference(string(have), string(want)))
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// firstDifference names the first line where have and want differ.
func firstDifference(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := range max(len(h), len(w)) {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl || i >= len(h) || i >= len(w) {
			return fmt.Sprintf("line %d is %q, the command tree gives %q", i+1, hl, wl)
		}
	}
	return "differs"
}

// markdownFiles lists dir's .md files; a missing dir has none.
func markdownFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".md") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
