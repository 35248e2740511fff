package target

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/probe"
)

var yamlBlockRe = regexp.MustCompile("(?s)```yaml\n(probes:\n.*?)```")

// TestTheDocumentedProbesParseAndTheFirstIsTheReference keeps the README's and docs/targets.md's
// probes: examples valid, and the first of each equal to the mapping a file without probes: gets.
func TestTheDocumentedProbesParseAndTheFirstIsTheReference(t *testing.T) {
	want, _ := json.Marshal(probe.Reference())
	for _, doc := range []string{"README.md", "docs/targets.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", doc))
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlockRe.FindAllStringSubmatch(string(b), -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no probes: example", doc)
		}
		for i, m := range blocks {
			f, err := Parse([]byte(strings.Replace(good, "capabilities:", m[1]+"capabilities:", 1)))
			if err != nil {
				t.Errorf("%s: probes example %d: %v", doc, i+1, err)
				continue
			}
			if got, _ := json.Marshal(f.Probes); i == 0 && string(got) != string(want) {
				t.Errorf("%s: the first probes example is not the reference mapping:\n got %s\nwant %s", doc, got, want)
			}
		}
	}
}
