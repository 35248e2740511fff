// Package probe maps the abstract operations the conformance suites need — who the server acts
// as (whoami), read, list, write and delete an object — onto an MCP server's own tools: which
// tool, the arguments as templates, where in the tool's result the answer is, and what a
// denial looks like. The reference server's mapping is Reference; a target file's `probes:`
// section declares another deployment's. It knows nothing of the kit, so the target file
// (harness) and the suites' framework share it.
package probe

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Op is an abstract operation of the suites.
type Op string

// The operations.
const (
	// Whoami asks who the server acts as for the caller: the caller ARN its tools run as,
	// and where known the source identity, tenant and role.
	Whoami Op = "whoami"
	// Read reads one object.
	Read Op = "read"
	// List lists keys under a prefix.
	List Op = "list"
	// Write writes one object.
	Write Op = "write"
	// Delete deletes one object.
	Delete Op = "delete"
)

// Ops are every operation, in the order a target file lists them.
var Ops = []Op{Whoami, Read, List, Write, Delete}

// Set is a deployment's probes: one per operation it declares, nil for the others.
type Set struct {
	Whoami *Probe `yaml:"whoami"`
	Read   *Probe `yaml:"read"`
	List   *Probe `yaml:"list"`
	Write  *Probe `yaml:"write"`
	Delete *Probe `yaml:"delete"`
}

// Probe is one operation mapped onto a tool.
type Probe struct {
	// Tool is the tool's name as tools/list gives it.
	Tool string `yaml:"tool"`
	// Arguments are the tool's arguments; strings in them are templates (see Vars).
	Arguments map[string]any `yaml:"arguments"`
	// Fields say where whoami's answers are in the result (whoami only).
	Fields *Fields `yaml:"fields"`
	// Content is the path to the object's content in the result (read only); "" is the
	// result's whole text.
	Content string `yaml:"content"`
	// Keys is the path to the listed keys (list only, required), e.g. objects[].key.
	Keys string `yaml:"keys"`
	// Denied says what a denial looks like; the zero value is any tool error.
	Denied Denial `yaml:"denied"`
}

// Fields are paths into whoami's result.
type Fields struct {
	// ARN is the caller ARN the tools run as (STS GetCallerIdentity's Arn); required.
	ARN            string `yaml:"arn"`
	SourceIdentity string `yaml:"sourceIdentity"`
	Tenant         string `yaml:"tenant"`
	// Role is the ARN of the role the server assumed.
	Role string `yaml:"role"`
}

// Denial is how a denial looks.
type Denial struct {
	// By is toolError (the result's isError; the default), rpcError (a JSON-RPC error
	// answer) or text (any answer whose text matches Match).
	By string `yaml:"by"`
	// Match is a regular expression the error's or answer's text must match to count as a
	// denial; "" matches any (not allowed with by: text).
	Match string `yaml:"match"`
	re    *regexp.Regexp
}

// The values of Denial.By.
const (
	ByToolError = "toolError"
	ByRPCError  = "rpcError"
	ByText      = "text"
)

// Reference is the reference MCP server's mapping (reference/mcpserver): whoami answers the
// session at the top level of its JSON; the object tools take bucket and key; there is no
// delete tool.
func Reference() *Set {
	denied := Denial{By: ByToolError, Match: "AccessDenied"}
	s := &Set{
		Whoami: &Probe{Tool: "whoami", Fields: &Fields{ARN: "arn", SourceIdentity: "sourceIdentity", Tenant: "tenant", Role: "role"}},
		Read:   &Probe{Tool: "get_object", Arguments: map[string]any{"bucket": "{bucket}", "key": "{key}"}, Denied: denied},
		List:   &Probe{Tool: "list_objects", Arguments: map[string]any{"bucket": "{bucket}", "prefix": "{prefix}"}, Keys: "objects[].key", Denied: denied},
		Write:  &Probe{Tool: "put_object", Arguments: map[string]any{"bucket": "{bucket}", "key": "{key}", "content": "{content}"}, Denied: denied},
	}
	if err := s.Validate(); err != nil {
		panic("probe: the reference mapping is invalid: " + err.Error())
	}
	return s
}

// Get returns the probe of op, nil when the set does not declare it.
func (s *Set) Get(op Op) *Probe {
	if s == nil {
		return nil
	}
	switch op {
	case Whoami:
		return s.Whoami
	case Read:
		return s.Read
	case List:
		return s.List
	case Write:
		return s.Write
	case Delete:
		return s.Delete
	}
	return nil
}

// Declared lists the operations the set declares.
func (s *Set) Declared() []Op {
	var out []Op
	for _, op := range Ops {
		if s.Get(op) != nil {
			out = append(out, op)
		}
	}
	return out
}

// placeholders are the template variables each operation may use.
var placeholders = map[Op][]string{
	Whoami: nil,
	Read:   {"bucket", "key", "uri"},
	List:   {"bucket", "prefix", "uri"},
	Write:  {"bucket", "key", "content", "uri"},
	Delete: {"bucket", "key", "uri"},
}

var (
	placeholderRe = regexp.MustCompile(`\{([^{}]*)\}`)
	toolNameRe    = regexp.MustCompile(`^[A-Za-z0-9_./-]{1,128}$`)
)

// Validate checks every declared probe, naming the field (probes.<op>.<field>) and the rule,
// and compiles the denial patterns. A set that declares nothing is an error: leave the
// section out for the reference mapping.
func (s *Set) Validate() error {
	if s == nil {
		return nil
	}
	if len(s.Declared()) == 0 {
		return fmt.Errorf("probes: declares no operation; declare at least one of %s, or leave probes out for the reference server's mapping", opList())
	}
	for _, op := range Ops {
		if p := s.Get(op); p != nil {
			if err := p.validate(op); err != nil {
				return err
			}
		}
	}
	return nil
}

func opList() string {
	names := make([]string, len(Ops))
	for i, op := range Ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

func (p *Probe) validate(op Op) error {
	field := "probes." + string(op)
	if !toolNameRe.MatchString(p.Tool) {
		return fmt.Errorf("%s.tool: %q must be the tool's name as tools/list gives it (1-128 letters, digits or _.-/)", field, p.Tool)
	}
	used := map[string]bool{}
	for name, v := range p.Arguments {
		if name == "" {
			return fmt.Errorf("%s.arguments: an argument has an empty name", field)
		}
		if err := checkTemplates(v, func(ph string) error {
			if !slices.Contains(placeholders[op], ph) {
				allowed := "none"
				if len(placeholders[op]) > 0 {
					allowed = "{" + strings.Join(placeholders[op], "}, {") + "}"
				}
				return fmt.Errorf("%s.arguments.%s: placeholder {%s} is not one %s can fill (it fills %s)", field, name, ph, op, allowed)
			}
			used[ph] = true
			return nil
		}); err != nil {
			return err
		}
	}
	switch op {
	case Read, Write, Delete:
		if !used["key"] && !used["uri"] {
			return fmt.Errorf("%s.arguments: must use {key} or {uri}, or the probe cannot say which object", field)
		}
	}
	if op == Write && !used["content"] {
		return fmt.Errorf("%s.arguments: must use {content}, or the probe cannot say what to write", field)
	}
	if (p.Fields != nil) != (op == Whoami) {
		if op == Whoami {
			return fmt.Errorf("%s.fields: required: where in the result the caller ARN (and source identity, tenant, role) are", field)
		}
		return fmt.Errorf("%s.fields: only whoami has fields", field)
	}
	if p.Fields != nil {
		if p.Fields.ARN == "" {
			return fmt.Errorf("%s.fields.arn: required: the path to the caller ARN the tools run as", field)
		}
		for name, path := range map[string]string{"arn": p.Fields.ARN, "sourceIdentity": p.Fields.SourceIdentity, "tenant": p.Fields.Tenant, "role": p.Fields.Role} {
			if err := checkPath(path, false); err != nil {
				return fmt.Errorf("%s.fields.%s: %v", field, name, err)
			}
		}
	}
	if p.Content != "" && op != Read {
		return fmt.Errorf("%s.content: only read has content", field)
	}
	if err := checkPath(p.Content, false); err != nil {
		return fmt.Errorf("%s.content: %v", field, err)
	}
	if (p.Keys != "") != (op == List) {
		if op == List {
			return fmt.Errorf("%s.keys: required: the path to the listed keys, e.g. objects[].key", field)
		}
		return fmt.Errorf("%s.keys: only list has keys", field)
	}
	if err := checkPath(p.Keys, true); err != nil {
		return fmt.Errorf("%s.keys: %v", field, err)
	}
	return p.Denied.compile(field + ".denied")
}

func (d *Denial) compile(field string) error {
	switch d.By {
	case "":
		d.By = ByToolError
	case ByToolError, ByRPCError:
	case ByText:
		if d.Match == "" {
			return fmt.Errorf("%s.match: required with by: text, or every answer would count as a denial", field)
		}
	default:
		return fmt.Errorf("%s.by: %q must be %s (the result's isError), %s (a JSON-RPC error) or %s (an answer whose text matches match)", field, d.By, ByToolError, ByRPCError, ByText)
	}
	re, err := regexp.Compile(d.Match)
	if err != nil {
		return fmt.Errorf("%s.match: %q is not a regular expression: %v", field, d.Match, err)
	}
	d.re = re
	return nil
}

// checkTemplates calls f for every placeholder in the strings of v (nested maps and lists
// included).
func checkTemplates(v any, f func(string) error) error {
	switch x := v.(type) {
	case string:
		for _, m := range placeholderRe.FindAllStringSubmatch(x, -1) {
			if err := f(m[1]); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range x {
			if err := checkTemplates(e, f); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkTemplates(e, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// Uses reports whether the probe's arguments use the placeholder (bucket, key, …).
func (p *Probe) Uses(placeholder string) bool {
	found := false
	for _, v := range p.Arguments {
		_ = checkTemplates(v, func(ph string) error {
			found = found || ph == placeholder
			return nil
		})
	}
	return found
}
