// Package baselines ships the known-failures baselines of `mcpsso conform`: for the seed
// profile, one line per spec that fails because of a mistake in the tutorial, each with the
// mistake it shows, numbered as in docs/concepts.md ("What the tutorial gets wrong").
package baselines

import (
	"embed"
	"fmt"
	"io"
	"path"
	"strings"
)

//go:embed *.txt
var files embed.FS

// Names lists the shipped baselines.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".txt"))
	}
	return out
}

// Open returns a shipped baseline.
func Open(name string) (io.ReadCloser, error) {
	f, err := files.Open(path.Clean(name) + ".txt")
	if err != nil {
		return nil, fmt.Errorf("baselines: no shipped baseline %q (shipped: %s)", name, strings.Join(Names(), ", "))
	}
	return f, nil
}
