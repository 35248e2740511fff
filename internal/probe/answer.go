package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Vars fill a probe's placeholders: {bucket}, {key}, {prefix}, {content}, and {uri}, which is
// s3://{bucket}/{key} (s3://{bucket}/{prefix} for list).
type Vars struct {
	Bucket, Key, Prefix, Content string
}

func (v Vars) value(name string) string {
	switch name {
	case "bucket":
		return v.Bucket
	case "key":
		return v.Key
	case "prefix":
		return v.Prefix
	case "content":
		return v.Content
	case "uri":
		rest := v.Key
		if rest == "" {
			rest = v.Prefix
		}
		return "s3://" + v.Bucket + "/" + rest
	}
	return ""
}

// Args are the probe's arguments with v's values in the placeholders. An argument whose
// template is exactly one placeholder with an empty value is left out (an optional prefix not
// given, say), so the tool sees no argument rather than an empty one.
func (p *Probe) Args(v Vars) map[string]any {
	out := map[string]any{}
	for name, t := range p.Arguments {
		if e, keep := expand(t, v); keep {
			out[name] = e
		}
	}
	return out
}

func expand(t any, v Vars) (any, bool) {
	switch x := t.(type) {
	case string:
		if m := placeholderRe.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) && v.value(x[m[2]:m[3]]) == "" {
			return nil, false
		}
		return placeholderRe.ReplaceAllStringFunc(x, func(ph string) string { return v.value(ph[1 : len(ph)-1]) }), true
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if ex, keep := expand(e, v); keep {
				out[k] = ex
			}
		}
		return out, true
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if ex, keep := expand(e, v); keep {
				out = append(out, ex)
			}
		}
		return out, true
	}
	return t, true
}

// Answer is what a tools/call answered.
type Answer struct {
	// Text is the result's text content, or the JSON-RPC error's message.
	Text string
	// Structured is the result's structuredContent, nil without one.
	Structured any
	// IsError is the result's isError.
	IsError bool
	// RPCError: the answer is a JSON-RPC error, not a result.
	RPCError bool
}

// OK reports whether the tool ran and succeeded: a result that is not a tool error.
func (a Answer) OK() bool { return !a.IsError && !a.RPCError }

// IsDenial reports whether the answer is a denial as the probe declares one.
func (p *Probe) IsDenial(a Answer) bool {
	d := p.Denied
	if d.re == nil {
		// A probe built in code rather than validated: compile it now.
		if err := d.compile("denied"); err != nil {
			return false
		}
	}
	switch d.By {
	case ByToolError:
		return a.IsError && !a.RPCError && d.re.MatchString(a.Text)
	case ByRPCError:
		return a.RPCError && d.re.MatchString(a.Text)
	case ByText:
		return d.re.MatchString(a.Text)
	}
	return false
}

// DenialRule says in words what counts as a denial, for failure messages.
func (p *Probe) DenialRule() string {
	var s string
	switch p.Denied.By {
	case ByRPCError:
		s = "a JSON-RPC error"
	case ByText:
		s = "an answer"
	default:
		s = "a tool error"
	}
	if p.Denied.Match != "" {
		s += " matching /" + p.Denied.Match + "/"
	}
	return s
}

// document is the JSON a path reads: the structured content, else the text parsed as JSON.
func document(a Answer) (any, error) {
	if a.Structured != nil {
		return a.Structured, nil
	}
	var doc any
	if err := json.Unmarshal([]byte(a.Text), &doc); err != nil {
		return nil, fmt.Errorf("the result has no structuredContent and its text is not JSON (%.200q)", a.Text)
	}
	return doc, nil
}

// Identity is whoami's answer.
type Identity struct {
	ARN, SourceIdentity, Tenant, Role string
}

// Identity reads whoami's answer from a; a field the probe does not map is "".
func (p *Probe) Identity(a Answer) (Identity, error) {
	if p.Fields == nil {
		return Identity{}, errors.New("probe: not a whoami probe")
	}
	doc, err := document(a)
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	for _, f := range []struct {
		path string
		dst  *string
		name string
	}{{p.Fields.ARN, &id.ARN, "arn"}, {p.Fields.SourceIdentity, &id.SourceIdentity, "sourceIdentity"}, {p.Fields.Tenant, &id.Tenant, "tenant"}, {p.Fields.Role, &id.Role, "role"}} {
		if f.path == "" {
			continue
		}
		v, err := lookupString(doc, f.path)
		if err != nil {
			return id, fmt.Errorf("fields.%s (%s): %v", f.name, f.path, err)
		}
		*f.dst = v
	}
	return id, nil
}

// ListedKeys reads list's keys from a.
func (p *Probe) ListedKeys(a Answer) ([]string, error) {
	doc, err := document(a)
	if err != nil {
		return nil, err
	}
	vs, err := Lookup(doc, p.Keys)
	if err != nil {
		return nil, fmt.Errorf("keys (%s): %v", p.Keys, err)
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("keys (%s): an element is %T, not a string", p.Keys, v)
		}
		out = append(out, s)
	}
	return out, nil
}

// ReadContent reads read's content from a: the whole text, or the string at Content.
func (p *Probe) ReadContent(a Answer) (string, error) {
	if p.Content == "" {
		return a.Text, nil
	}
	doc, err := document(a)
	if err != nil {
		return "", err
	}
	v, err := lookupString(doc, p.Content)
	if err != nil {
		return "", fmt.Errorf("content (%s): %v", p.Content, err)
	}
	return v, nil
}

func lookupString(doc any, path string) (string, error) {
	vs, err := Lookup(doc, path)
	if err != nil {
		return "", err
	}
	if len(vs) != 1 {
		return "", fmt.Errorf("names %d values, want one", len(vs))
	}
	switch v := vs[0].(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("is %T, not a string", v)
	}
}

var segmentRe = regexp.MustCompile(`^([^.\[\]]*)((?:\[[0-9]*\])*)$`)
var indexRe = regexp.MustCompile(`\[([0-9]*)\]`)

// checkPath checks a path's syntax: segments separated by dots, each a member name followed by
// any number of [N] (an index) or, where each is allowed, [] (every element).
func checkPath(path string, each bool) error {
	if path == "" {
		return nil
	}
	for _, seg := range strings.Split(path, ".") {
		m := segmentRe.FindStringSubmatch(seg)
		if m == nil || (m[1] == "" && m[2] == "") {
			return fmt.Errorf("%q is not a path: segments are a member name with optional [N] indexes, joined by dots (e.g. caller.arn, items[0].key)", path)
		}
		if !each && strings.Contains(m[2], "[]") {
			return fmt.Errorf("%q: [] (every element) names many values; this field names one (use [N])", path)
		}
	}
	return nil
}

// Lookup returns the values at path in doc (JSON as encoding/json decodes it). "" is doc
// itself; [] fans out over a list's elements.
func Lookup(doc any, path string) ([]any, error) {
	if err := checkPath(path, true); err != nil {
		return nil, err
	}
	cur := []any{doc}
	if path == "" {
		return cur, nil
	}
	for _, seg := range strings.Split(path, ".") {
		m := segmentRe.FindStringSubmatch(seg)
		if m[1] != "" {
			next := make([]any, 0, len(cur))
			for _, c := range cur {
				obj, ok := c.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: cannot read member %q of %s", path, m[1], kind(c))
				}
				v, ok := obj[m[1]]
				if !ok {
					return nil, fmt.Errorf("%s: no member %q", path, m[1])
				}
				next = append(next, v)
			}
			cur = next
		}
		for _, idx := range indexRe.FindAllStringSubmatch(m[2], -1) {
			next := []any{}
			for _, c := range cur {
				list, ok := c.([]any)
				if !ok {
					return nil, fmt.Errorf("%s: [%s] applies to %s, not a list", path, idx[1], kind(c))
				}
				if idx[1] == "" {
					next = append(next, list...)
					continue
				}
				i, err := strconv.Atoi(idx[1])
				if err != nil || i >= len(list) {
					return nil, fmt.Errorf("%s: index %s is out of a list of %d", path, idx[1], len(list))
				}
				next = append(next, list[i])
			}
			cur = next
		}
	}
	return cur, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// AssumedRole splits an assumed-role session ARN (arn:aws:sts::<account>:assumed-role/<role
// name>/<session name>) into its parts; ok is false for any other ARN.
func (id Identity) AssumedRole() (account, roleName, session string, ok bool) {
	parts := strings.SplitN(id.ARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" {
		return "", "", "", false
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 3 || res[0] != "assumed-role" || res[1] == "" || res[2] == "" {
		return "", "", "", false
	}
	return parts[4], res[1], res[2], true
}
