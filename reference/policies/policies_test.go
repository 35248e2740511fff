package policies

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// exampleVars are the values the examples were written with.
var exampleVars = map[string]string{"acct": "111122223333", "ecsTaskRole": "ecsTaskRole", "tenant": "acme"}

func TestNamesListEachProfilesDocuments(t *testing.T) {
	want := map[string][]string{
		Seed:      {"target-role-trust-policy", "task-role-policy", "task-role-trust-policy", "tenant-bucket-policy"},
		Reference: {"target-role-policy", "target-role-trust-policy", "task-role-policy", "task-role-trust-policy", "tenant-bucket-policy"},
	}
	for profile, names := range want {
		if got := Names(profile); !slices.Equal(got, names) {
			t.Errorf("Names(%q) = %q, want %q", profile, got, names)
		}
	}
	if got := Names("examples"); got != nil {
		t.Errorf("Names(%q) = %q, want nil: examples are not a profile", "examples", got)
	}
}

func TestEveryDocumentIsValidJSONAndEveryPlaceholderIsFillable(t *testing.T) {
	for _, profile := range Profiles() {
		for _, name := range Names(profile) {
			raw, err := files.ReadFile(profile + "/" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(raw) {
				t.Errorf("%s/%s is not valid JSON as embedded", profile, name)
			}
			// A value with JSON-special characters proves the filling escapes.
			vars := map[string]string{}
			for _, p := range placeholdersIn(raw) {
				vars[p] = `x"\` + p
			}
			doc, err := Load(profile, name, vars)
			if err != nil {
				t.Errorf("Load(%s, %s) with every placeholder given: %v", profile, name, err)
				continue
			}
			if left := placeholder.Find(doc); left != nil {
				t.Errorf("%s/%s still has placeholder %s after Load", profile, name, left)
			}
			var v map[string]any
			if err := json.Unmarshal(doc, &v); err != nil {
				t.Errorf("%s/%s after Load: %v", profile, name, err)
			}
			if v["Version"] != "2012-10-17" {
				t.Errorf("%s/%s: Version = %v, want 2012-10-17 (policy variables need it)", profile, name, v["Version"])
			}
		}
	}
}

func TestSeedDocumentsWrapOneTutorialStatement(t *testing.T) {
	for _, name := range Names(Seed) {
		doc, err := Load(Seed, name, exampleVars)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Version   string
			Statement []map[string]any
		}
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		if len(v.Statement) != 1 {
			t.Errorf("seed/%s has %d statements, want the tutorial's one", name, len(v.Statement))
		}
	}
}

func TestLoadFillsPlaceholders(t *testing.T) {
	doc, err := Load(Reference, "tenant-bucket-policy", map[string]string{"acct": "111122223333", "tenant": "acme", "unused": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"arn:aws:s3:::quilt-tenant-acme"`, `"arn:aws:s3:::quilt-tenant-acme/*"`, `"aws:PrincipalAccount": "111122223333"`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("filled document lacks %s:\n%s", want, doc)
		}
	}
	// Policy variables are IAM's, not ours: they must survive untouched.
	doc, err = Load(Reference, "target-role-policy", nil)
	if err != nil {
		t.Fatalf("a document without placeholders needs no vars: %v", err)
	}
	if !strings.Contains(string(doc), "${aws:PrincipalTag/tenant}") {
		t.Errorf("target-role-policy lost its policy variable:\n%s", doc)
	}
}

func TestLoadRejectsBadArguments(t *testing.T) {
	full := map[string]string{"acct": "111122223333", "ecsTaskRole": "ecsTaskRole", "tenant": "acme"}
	tests := []struct {
		name, profile, doc string
		vars               map[string]string
		wantInErr          []string
	}{
		{"an unknown profile is named with the known ones", "prod", "task-role-policy", full,
			[]string{`profile "prod" is unknown`, "reference, seed"}},
		{"an unknown document is named with the profile's documents", Seed, "target-role-policy", full,
			[]string{`document "target-role-policy" is unknown in profile seed`, "task-role-policy"}},
		{"a path is not a document name", Seed, "../examples/index", full,
			[]string{`document "../examples/index" is unknown`}},
		{"a missing placeholder is named", Reference, "target-role-trust-policy", map[string]string{"acct": "111122223333"},
			[]string{"reference/target-role-trust-policy", "<ecsTaskRole>"}},
		{"every missing placeholder is named", Reference, "tenant-bucket-policy", nil,
			[]string{"<acct>, <tenant>"}},
		{"an empty value counts as missing", Seed, "task-role-policy", map[string]string{"acct": ""},
			[]string{"<acct> has no value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Load(tc.profile, tc.doc, tc.vars)
			if err == nil {
				t.Fatalf("Load succeeded with %s", doc)
			}
			for _, want := range tc.wantInErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestIndexListsEveryExampleFileOnce(t *testing.T) {
	var onDisk []string
	entries, err := fs.ReadDir(files, "examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name, _ := strings.CutSuffix(e.Name(), ".json"); name != "index" {
			onDisk = append(onDisk, name)
		}
	}
	var listed []string
	for _, e := range Examples() {
		listed = append(listed, e.Name)
		if e.Description == "" || strings.ContainsAny(e.Description, "\n\r") {
			t.Errorf("example %s: description %q must be one non-empty line", e.Name, e.Description)
		}
		if !slices.Contains([]string{"Allow", "ExplicitDeny", "ImplicitDeny"}, e.Expect) {
			t.Errorf("example %s: expect %q must be Allow, ExplicitDeny or ImplicitDeny", e.Name, e.Expect)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, onDisk) {
		t.Errorf("examples/index.json lists %q, but examples/ holds %q", listed, onDisk)
	}
}

func TestEveryExampleIsARequestObject(t *testing.T) {
	for _, e := range Examples() {
		raw, desc, err := Example(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if desc != e.Description {
			t.Errorf("Example(%s) description = %q, want the index's %q", e.Name, desc, e.Description)
		}
		var req map[string]any
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Errorf("example %s is not a JSON object: %v", e.Name, err)
			continue
		}
		for _, field := range []string{"action", "resource", "principal"} {
			if _, ok := req[field]; !ok {
				t.Errorf("example %s lacks %q", e.Name, field)
			}
		}
		if placeholder.Match(raw) {
			t.Errorf("example %s has a placeholder %s; examples must be runnable as they are", e.Name, placeholder.Find(raw))
		}
	}
}

func TestUnknownExampleIsNamedWithTheKnownOnes(t *testing.T) {
	_, _, err := Example("no-such-example")
	if err == nil || !strings.Contains(err.Error(), `"no-such-example" is unknown`) || !strings.Contains(err.Error(), "tutorial-s3-cross-account") {
		t.Errorf("Example(no-such-example) error = %v, want it to name the example and list the known ones", err)
	}
}

// TestExamplesInlineTheEmbeddedDocuments keeps the examples honest: the policies they inline
// must be exactly the profile documents they claim to show, so a fix to a document cannot
// leave a stale copy in an example.
func TestExamplesInlineTheEmbeddedDocuments(t *testing.T) {
	type source struct{ field, profile, doc string }
	sources := map[string][]source{
		"tutorial-trust-set-source-identity":  {{"resourcePolicy", Seed, "target-role-trust-policy"}},
		"corrected-trust-set-source-identity": {{"resourcePolicy", Reference, "target-role-trust-policy"}},
		"tutorial-trust-extra-tag-key":        {{"resourcePolicy", Seed, "target-role-trust-policy"}},
		"corrected-trust-extra-tag-key":       {{"resourcePolicy", Reference, "target-role-trust-policy"}},
		"tutorial-trust-cross-tenant-tag":     {{"resourcePolicy", Seed, "target-role-trust-policy"}},
		"corrected-trust-cross-tenant-tag":    {{"resourcePolicy", Reference, "target-role-trust-policy"}},
		"tutorial-s3-cross-account":           {{"resourcePolicy", Seed, "tenant-bucket-policy"}},
		"reference-s3-cross-account":          {{"resourcePolicy", Reference, "tenant-bucket-policy"}},
	}
	for _, e := range Examples() {
		srcs, ok := sources[e.Name]
		if !ok {
			t.Errorf("example %s: add it to this test's table with the documents it inlines", e.Name)
			continue
		}
		raw, _, err := Example(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		var req map[string]any
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		for _, s := range srcs {
			doc, err := Load(s.profile, s.doc, exampleVars)
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(doc, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(req[s.field], want) {
				t.Errorf("example %s: %s differs from %s/%s filled with %v", e.Name, s.field, s.profile, s.doc, exampleVars)
			}
		}
	}
}
