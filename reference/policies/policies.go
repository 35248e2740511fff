// Package policies is the one source of truth for the IAM JSON documents of the SSO MCP server
// pattern: the emulator loads them, the scenarios assert on them, and a deployment template
// would use them as they are.
//
// Documents come in two profiles. "seed" holds the tutorial's statements verbatim, mistakes
// included; "reference" holds the corrected forms. Both name the same documents
// (task-role-policy, target-role-trust-policy, tenant-bucket-policy, and in reference also
// target-role-policy), so a caller switches profile without changing names. Account IDs, role
// names and tenants appear as <acct>, <ecsTaskRole> and <tenant> placeholders that Load fills.
//
// The package also embeds the example requests of `mcpsso policy simulate`: each is a complete
// simulation request with its policies inlined, listed with a one-line description in
// examples/index.json.
package policies

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The profiles Load accepts.
const (
	// Seed is the tutorial's documents, verbatim.
	Seed = "seed"
	// Reference is the corrected documents.
	Reference = "reference"
)

//go:embed seed/*.json reference/*.json examples/*.json
var files embed.FS

// placeholder matches "<acct>"-style markers; the policy language itself never uses angle
// brackets, so any such marker in a document is ours.
var placeholder = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9]*)>`)

// Profiles lists the profiles, sorted.
func Profiles() []string { return []string{Reference, Seed} }

// Names lists the documents of profile, sorted and without the .json extension; nil for an
// unknown profile.
func Names(profile string) []string {
	if !slices.Contains(Profiles(), profile) {
		return nil
	}
	entries, err := fs.ReadDir(files, profile)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, name)
		}
	}
	return names
}

// Load returns the document name of profile with every <placeholder> replaced by vars[placeholder]
// (keys without angle brackets, e.g. "acct"). Every placeholder the document uses must have a
// non-empty value; vars it does not use are ignored, so one map can serve every document. Values
// are JSON-escaped, so the result is always valid JSON.
func Load(profile, name string, vars map[string]string) ([]byte, error) {
	raw, err := read(profile, name)
	if err != nil {
		return nil, err
	}
	out, err := Fill(raw, vars)
	if err != nil {
		return nil, fmt.Errorf("policies: %s/%s: %w", profile, name, err)
	}
	return out, nil
}

// Fill replaces every <placeholder> of a JSON document (one of these or a user's own) with
// vars[placeholder], JSON-escaped; a placeholder without a non-empty value is an error, and so
// is a result that is not valid JSON.
func Fill(doc []byte, vars map[string]string) ([]byte, error) {
	var missing []string
	for _, p := range placeholdersIn(doc) {
		if vars[p] == "" {
			missing = append(missing, "<"+p+">")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("placeholder %s has no value: every placeholder in a document must be given a non-empty value", strings.Join(missing, ", "))
	}
	out := placeholder.ReplaceAllFunc(doc, func(m []byte) []byte {
		return jsonEscape(vars[string(m[1:len(m)-1])])
	})
	if !json.Valid(out) {
		return nil, errors.New("the document is not valid JSON after filling its placeholders")
	}
	return out, nil
}

func read(profile, name string) ([]byte, error) {
	if !slices.Contains(Profiles(), profile) {
		return nil, fmt.Errorf("policies: profile %q is unknown; it must be one of %s", profile, strings.Join(Profiles(), ", "))
	}
	if !slices.Contains(Names(profile), name) {
		return nil, fmt.Errorf("policies: document %q is unknown in profile %s; it must be one of %s",
			name, profile, strings.Join(Names(profile), ", "))
	}
	return files.ReadFile(path.Join(profile, name+".json"))
}

func placeholdersIn(doc []byte) []string {
	var names []string
	for _, m := range placeholder.FindAllSubmatch(doc, -1) {
		names = append(names, string(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// jsonEscape returns s escaped for use inside a JSON string, without the quotes.
func jsonEscape(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep ARNs readable; "<" needs no escaping in JSON
	_ = enc.Encode(s)        // encoding a string cannot fail
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return b[1 : len(b)-1]
}

// ExampleInfo describes one embedded simulation request.
type ExampleInfo struct {
	// Name is what `mcpsso policy simulate --example` takes.
	Name string `json:"name"`
	// Description says in one line what the example shows.
	Description string `json:"description"`
	// Expect is the decision the example should produce: Allow, ExplicitDeny or ImplicitDeny.
	Expect string `json:"expect"`
}

// examples is examples/index.json, in its order. A broken index is a build defect that the
// package's tests catch, so it panics rather than returning an error from every call.
var examples = func() []ExampleInfo {
	raw, err := files.ReadFile("examples/index.json")
	if err != nil {
		panic(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var list []ExampleInfo
	if err := dec.Decode(&list); err != nil {
		panic(fmt.Sprintf("policies: examples/index.json: %v", err))
	}
	return list
}()

// Examples lists the embedded simulation requests in the order of examples/index.json.
func Examples() []ExampleInfo { return slices.Clone(examples) }

// Example returns the simulation request (JSON) of the named example and its description.
func Example(name string) ([]byte, string, error) {
	i := slices.IndexFunc(examples, func(e ExampleInfo) bool { return e.Name == name })
	if i < 0 {
		names := make([]string, len(examples))
		for j, e := range examples {
			names[j] = e.Name
		}
		return nil, "", fmt.Errorf("policies: example %q is unknown; it must be one of %s", name, strings.Join(names, ", "))
	}
	raw, err := files.ReadFile("examples/" + name + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("policies: example %q is listed in examples/index.json but examples/%s.json is missing", name, name)
	}
	if err != nil {
		return nil, "", err
	}
	return raw, examples[i].Description, nil
}
