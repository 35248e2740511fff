package probe

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestReferenceIsValidAndDeclaresAllButDelete(t *testing.T) {
	s := Reference()
	if got := s.Declared(); !reflect.DeepEqual(got, []Op{Whoami, Read, List, Write}) {
		t.Fatalf("Declared = %v", got)
	}
	if s.Get(Delete) != nil || s.Get("nonsense") != nil {
		t.Fatal("Get of an undeclared op is not nil")
	}
	var nilSet *Set
	if nilSet.Get(Read) != nil || nilSet.Validate() != nil {
		t.Fatal("a nil set declares something or is invalid")
	}
}

// Each row is a broken set and the exact start of its error.
func TestValidateNamesTheFieldAndTheRule(t *testing.T) {
	who := func() *Probe { return &Probe{Tool: "whoami", Fields: &Fields{ARN: "arn"}} }
	for _, tc := range []struct {
		name string
		set  Set
		want string
	}{
		{"nothing declared", Set{}, "probes: declares no operation"},
		{"empty tool", Set{Whoami: &Probe{Fields: &Fields{ARN: "a"}}}, `probes.whoami.tool: "" must be the tool's name`},
		{"tool with a space", Set{Read: &Probe{Tool: "read file", Arguments: map[string]any{"k": "{key}"}}}, `probes.read.tool: "read file"`},
		{"unknown placeholder", Set{Read: &Probe{Tool: "r", Arguments: map[string]any{"path": "{path}"}}}, "probes.read.arguments.path: placeholder {path} is not one read can fill (it fills {bucket}, {key}, {uri})"},
		{"content in read", Set{Read: &Probe{Tool: "r", Arguments: map[string]any{"k": "{key}", "c": "{content}"}}}, "probes.read.arguments.c: placeholder {content}"},
		{"placeholder in whoami", Set{Whoami: &Probe{Tool: "w", Arguments: map[string]any{"b": "{bucket}"}, Fields: &Fields{ARN: "a"}}}, "probes.whoami.arguments.b: placeholder {bucket} is not one whoami can fill (it fills none)"},
		{"nested unknown placeholder", Set{Write: &Probe{Tool: "w", Arguments: map[string]any{"f": map[string]any{"x": []any{"{nope}"}}}}}, "probes.write.arguments.f: placeholder {nope}"},
		{"empty argument name", Set{Read: &Probe{Tool: "r", Arguments: map[string]any{"": "{key}"}}}, "probes.read.arguments: an argument has an empty name"},
		{"read without key", Set{Read: &Probe{Tool: "r", Arguments: map[string]any{"b": "{bucket}"}}}, "probes.read.arguments: must use {key} or {uri}"},
		{"write without content", Set{Write: &Probe{Tool: "w", Arguments: map[string]any{"u": "{uri}"}}}, "probes.write.arguments: must use {content}"},
		{"whoami without fields", Set{Whoami: &Probe{Tool: "w"}}, "probes.whoami.fields: required"},
		{"fields on read", Set{Read: &Probe{Tool: "r", Arguments: map[string]any{"k": "{key}"}, Fields: &Fields{ARN: "a"}}}, "probes.read.fields: only whoami has fields"},
		{"whoami without arn", Set{Whoami: &Probe{Tool: "w", Fields: &Fields{Tenant: "t"}}}, "probes.whoami.fields.arn: required"},
		{"fan-out in a field", Set{Whoami: &Probe{Tool: "w", Fields: &Fields{ARN: "a[].b"}}}, `probes.whoami.fields.arn: "a[].b": [] (every element) names many values`},
		{"bad path", Set{Whoami: &Probe{Tool: "w", Fields: &Fields{ARN: "a..b"}}}, `probes.whoami.fields.arn: "a..b" is not a path`},
		{"content on write", Set{Write: &Probe{Tool: "w", Arguments: map[string]any{"k": "{key}", "c": "{content}"}, Content: "x"}}, "probes.write.content: only read has content"},
		{"list without keys", Set{List: &Probe{Tool: "l"}}, "probes.list.keys: required"},
		{"keys on read", Set{Read: &Probe{Tool: "r", Arguments: map[string]any{"k": "{key}"}, Keys: "k"}}, "probes.read.keys: only list has keys"},
		{"bad denial kind", Set{Whoami: &Probe{Tool: "w", Fields: &Fields{ARN: "a"}, Denied: Denial{By: "http403"}}}, `probes.whoami.denied.by: "http403" must be toolError`},
		{"text denial without match", Set{Whoami: &Probe{Tool: "w", Fields: &Fields{ARN: "a"}, Denied: Denial{By: ByText}}}, "probes.whoami.denied.match: required with by: text"},
		{"bad regexp", Set{Whoami: &Probe{Tool: "w", Fields: &Fields{ARN: "a"}, Denied: Denial{Match: "("}}}, `probes.whoami.denied.match: "(" is not a regular expression`},
		{"second probe broken", Set{Whoami: who(), List: &Probe{Tool: "l", Keys: "x[]y"}}, `probes.list.keys: "x[]y" is not a path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.set.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Validate = %v\nwant an error starting %q", err, tc.want)
			}
		})
	}
}

func TestArgsFillsPlaceholdersAndLeavesOutEmptyOnes(t *testing.T) {
	p := &Probe{Tool: "t", Arguments: map[string]any{
		"uri": "{uri}", "bucket": "{bucket}", "prefix": "{prefix}", "label": "tenant {bucket}: {prefix}",
		"limit": 10, "opts": map[string]any{"p": "{prefix}", "keep": true}, "list": []any{"{prefix}", "x"},
	}}
	got := p.Args(Vars{Bucket: "b1"})
	want := map[string]any{"uri": "s3://b1/", "bucket": "b1", "label": "tenant b1: ", "limit": 10,
		"opts": map[string]any{"keep": true}, "list": []any{"x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Args = %#v\nwant %#v", got, want)
	}
	if got := p.Args(Vars{Bucket: "b", Key: "k/1", Prefix: "p/"})["uri"]; got != "s3://b/k/1" {
		t.Fatalf("uri with a key = %v", got)
	}
	if got := p.Args(Vars{Bucket: "b", Prefix: "p/"})["uri"]; got != "s3://b/p/" {
		t.Fatalf("uri with a prefix = %v", got)
	}
	if !p.Uses("prefix") || p.Uses("key") {
		t.Fatal("Uses is wrong")
	}
	// The template is not changed by filling it.
	if p.Arguments["prefix"] != "{prefix}" {
		t.Fatal("Args changed the template")
	}
}

func TestIsDenialFollowsTheDeclaredRule(t *testing.T) {
	toolErr := Answer{Text: "AccessDenied: s3:GetObject", IsError: true}
	otherToolErr := Answer{Text: "bucket not found", IsError: true}
	rpcErr := Answer{Text: "forbidden", RPCError: true}
	okText := Answer{Text: "permission denied for you"}
	for _, tc := range []struct {
		d    Denial
		a    Answer
		want bool
	}{
		{Denial{}, toolErr, true},
		{Denial{}, otherToolErr, true},
		{Denial{}, rpcErr, false},
		{Denial{}, okText, false},
		{Denial{Match: "AccessDenied"}, otherToolErr, false},
		{Denial{By: ByRPCError}, rpcErr, true},
		{Denial{By: ByRPCError}, toolErr, false},
		{Denial{By: ByRPCError, Match: "^denied"}, rpcErr, false},
		{Denial{By: ByText, Match: "permission denied"}, okText, true},
		{Denial{By: ByText, Match: "permission denied"}, toolErr, false},
	} {
		p := &Probe{Tool: "t", Denied: tc.d}
		if got := p.IsDenial(tc.a); got != tc.want {
			t.Errorf("%+v on %+v = %v, want %v", tc.d, tc.a, got, tc.want)
		}
	}
	if (&Probe{Denied: Denial{Match: "AccessDenied"}}).DenialRule() != "a tool error matching /AccessDenied/" {
		t.Error("DenialRule does not say the rule")
	}
}

func TestIdentityReadsStructuredContentOrJSONText(t *testing.T) {
	p := &Probe{Tool: "identity", Fields: &Fields{ARN: "caller.arn", SourceIdentity: "session.sourceIdentity", Tenant: "session.tenants[0]"}}
	var structured any
	_ = json.Unmarshal([]byte(`{"caller":{"arn":"arn:aws:sts::1:assumed-role/r/alice"},"session":{"sourceIdentity":"alice","tenants":["acme"]}}`), &structured)
	want := Identity{ARN: "arn:aws:sts::1:assumed-role/r/alice", SourceIdentity: "alice", Tenant: "acme"}
	if id, err := p.Identity(Answer{Text: "ignored", Structured: structured}); err != nil || id != want {
		t.Fatalf("from structuredContent: %+v, %v", id, err)
	}
	text, _ := json.Marshal(structured)
	if id, err := p.Identity(Answer{Text: string(text)}); err != nil || id != want {
		t.Fatalf("from text: %+v, %v", id, err)
	}
	for _, tc := range []struct{ text, want string }{
		{"you are alice", "its text is not JSON"},
		{`{"caller":{}}`, `fields.arn (caller.arn): caller.arn: no member "arn"`},
		{`{"caller":{"arn":7}}`, "fields.arn (caller.arn): is float64, not a string"},
		{`{"caller":"x"}`, `caller.arn: cannot read member "arn" of a string`},
	} {
		if _, err := p.Identity(Answer{Text: tc.text}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Identity(%s) = %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestListedKeysAndReadContent(t *testing.T) {
	l := &Probe{Tool: "search", Keys: "matches[].key"}
	keys, err := l.ListedKeys(Answer{Text: `{"matches":[{"key":"a"},{"key":"b/c"}]}`})
	if err != nil || !reflect.DeepEqual(keys, []string{"a", "b/c"}) {
		t.Fatalf("ListedKeys = %v, %v", keys, err)
	}
	if keys, err := l.ListedKeys(Answer{Text: `{"matches":[]}`}); err != nil || len(keys) != 0 {
		t.Fatalf("empty listing = %v, %v", keys, err)
	}
	if _, err := l.ListedKeys(Answer{Text: `{"matches":[{"key":1}]}`}); err == nil {
		t.Fatal("a number as a key was accepted")
	}
	top := &Probe{Tool: "ls", Keys: "[]"}
	if keys, err := top.ListedKeys(Answer{Text: `["x","y"]`}); err != nil || !reflect.DeepEqual(keys, []string{"x", "y"}) {
		t.Fatalf("top-level list = %v, %v", keys, err)
	}
	r := &Probe{Tool: "read"}
	if c, _ := r.ReadContent(Answer{Text: "hello\n"}); c != "hello\n" {
		t.Fatalf("whole-text content = %q", c)
	}
	r.Content = "file.text"
	if c, err := r.ReadContent(Answer{Text: `{"file":{"text":"hi"}}`}); err != nil || c != "hi" {
		t.Fatalf("content at a path = %q, %v", c, err)
	}
}

func TestLookupErrors(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"a":[{"b":1},{"b":2}],"n":null}`), &doc)
	for path, want := range map[string]string{
		"a[5]":  "index 5 is out of a list of 2",
		"n[]":   "[] applies to null, not a list",
		"a.b":   `cannot read member "b" of a list`,
		"a[].c": `no member "c"`,
		"a[x]":  "is not a path",
	} {
		if _, err := Lookup(doc, path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Lookup(%s) = %v, want %q", path, err, want)
		}
	}
	if vs, err := Lookup(doc, "a[].b"); err != nil || !reflect.DeepEqual(vs, []any{1.0, 2.0}) {
		t.Errorf("Lookup(a[].b) = %v, %v", vs, err)
	}
}

// FuzzAnswer feeds a whoami and a list probe answers as a server could send them: reading them
// returns a value or an error, never panics.
func FuzzAnswer(f *testing.F) {
	f.Add(`{"caller":{"arn":"x"},"items":[{"key":"k"}]}`, "caller.arn", "items[].key")
	f.Add(`[[1],[2,[3]]]`, "[1][1]", "[][]")
	f.Add(`{"a":null}`, "a.b", "a[]")
	f.Fuzz(func(t *testing.T, text, field, keys string) {
		who := &Probe{Tool: "w", Fields: &Fields{ARN: field}}
		_, _ = who.Identity(Answer{Text: text})
		list := &Probe{Tool: "l", Keys: keys}
		_, _ = list.ListedKeys(Answer{Text: text})
		_ = (&Set{Whoami: who, List: list}).Validate()
	})
}

func TestAssumedRoleSplitsOnlyASessionARN(t *testing.T) {
	acct, role, session, ok := Identity{ARN: "arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-acme/alice"}.AssumedRole()
	if !ok || acct != "111122223333" || role != "quilt-mcp-target-acme" || session != "alice" {
		t.Fatalf("AssumedRole = %s %s %s %v", acct, role, session, ok)
	}
	for _, arn := range []string{"arn:aws:iam::111122223333:role/r", "arn:aws:sts::1:assumed-role/r", "arn:aws:sts::1:federated-user/bob", "alice", ""} {
		if _, _, _, ok := (Identity{ARN: arn}).AssumedRole(); ok {
			t.Errorf("AssumedRole(%q) is ok", arn)
		}
	}
}
