package authorizer_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// TestTheIdPDocsBlocksAreWhatTheLambdaReads holds docs/idps.md to the code: every preset has
// a row in the table and exactly one block of Lambda variables, each block configures the
// Lambda as its preset (google's is refused with the opaque-token reason), and the README's
// section names every preset.
func TestTheIdPDocsBlocksAreWhatTheLambdaReads(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "idps.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	seen := map[string]int{}
	for _, b := range blocks {
		var env []string
		preset := ""
		for _, line := range strings.Split(strings.TrimSpace(b[1]), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok || !strings.HasPrefix(k, authorizer.EnvPrefix) {
				t.Fatalf("docs/idps.md: line %q of a block is not a MCPSSO_AUTHORIZER_ variable", line)
			}
			if k == authorizer.EnvPrefix+"IDP_PRESET" {
				preset = v
			}
			env = append(env, line)
		}
		seen[preset]++
		c, err := authorizer.ConfigFromEnv(append(env, authorizer.EnvPrefix+"ROLE_STORE=dynamodb:mcpsso-role-mappings"))
		switch p, _ := authorizer.LookupPreset(preset); {
		case p.Unsupported != "":
			if err == nil || !strings.Contains(err.Error(), "opaque") {
				t.Errorf("docs/idps.md, the %s block: %v, want it refused as opaque", preset, err)
			}
		case err != nil:
			t.Errorf("docs/idps.md, the %s block: %v", preset, err)
		case c.IdPPreset != preset:
			t.Errorf("docs/idps.md, the %s block configures preset %q", preset, c.IdPPreset)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Testing against your IdP")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, name := range authorizer.PresetNames() {
		if seen[name] != 1 {
			t.Errorf("docs/idps.md has %d blocks for preset %s, want 1", seen[name], name)
		}
		if !strings.Contains(section, "`"+name+"`") && !strings.Contains(section, "IDP_PRESET="+name) {
			t.Errorf("README.md's \"Testing against your IdP\" section does not name preset %s", name)
		}
	}
	for _, p := range authorizer.Presets() {
		if !strings.Contains(string(doc), "| `"+p.Name+"`") {
			t.Errorf("docs/idps.md's table has no row for preset %s", p.Name)
		}
	}
	for name := range seen {
		if _, err := authorizer.LookupPreset(name); err != nil {
			t.Errorf("docs/idps.md has a block without a known preset: %v", err)
		}
	}
}
