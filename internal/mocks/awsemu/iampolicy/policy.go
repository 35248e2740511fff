package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Kind is the role a policy document plays; it decides which elements it must and must not have.
type Kind uint8

const (
	// IdentityPolicy is attached to a user or role (inline or managed): no Principal.
	IdentityPolicy Kind = iota + 1
	// ResourcePolicy is attached to a resource such as an S3 bucket: Principal required.
	ResourcePolicy
	// TrustPolicy is a role's assume-role policy: Principal required, no Resource.
	TrustPolicy
	// SessionPolicy is passed to AssumeRole: no Principal.
	SessionPolicy
	// PermissionsBoundary caps a user's or role's identity policies: no Principal.
	PermissionsBoundary
)

func (k Kind) String() string {
	switch k {
	case IdentityPolicy:
		return "identity policy"
	case ResourcePolicy:
		return "resource-based policy"
	case TrustPolicy:
		return "trust policy"
	case SessionPolicy:
		return "session policy"
	case PermissionsBoundary:
		return "permissions boundary"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// The two policy language versions. Only 2012-10-17 has policy variables.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is what a statement, or a policy as a whole, says about a request.
type Effect uint8

const (
	// NoMatch: no statement applies to the request.
	NoMatch Effect = iota
	// Allow: an Allow statement applies and no Deny does.
	Allow
	// Deny: a Deny statement applies.
	Deny
)

func (e Effect) String() string { return [...]string{"NoMatch", "Allow", "Deny"}[e] }

// Policy is a parsed, validated and compiled policy document. It is immutable and safe for
// concurrent use.
type Policy struct {
	name       string
	kind       Kind
	version    string
	id         string
	statements []statement
	doc        []byte
}

// Name is the label used in explanations, e.g. "trust policy of role quilt-mcp-target-acme".
func (p *Policy) Name() string { return p.name }

// Kind is the document's role.
func (p *Policy) Kind() Kind { return p.kind }

// Version is the document's policy language version (2008-10-17 when it gave none).
func (p *Policy) Version() string { return p.version }

// Document returns the original JSON.
func (p *Policy) Document() []byte { return bytes.Clone(p.doc) }

// StatementCount is the number of statements.
func (p *Policy) StatementCount() int { return len(p.statements) }

// statement is one compiled Statement.
type statement struct {
	index       int
	sid         string
	effect      Effect
	principal   *principalSet // nil: identity-based statement
	actions     []string      // lower-cased patterns
	notAction   bool
	resources   []pattern // empty with hasResource false: trust policy (the role itself)
	notResource bool
	hasResource bool
	conditions  []condition
	// arnGrant: Principal "*" narrowed by a positive condition on aws:PrincipalArn, a grant
	// that session policies and permissions boundaries do not cap (see Decide).
	arnGrant bool
}

// MalformedPolicyError is a document IAM would reject with MalformedPolicyDocument. It names the
// policy, the statement and the element, and says what rule was broken.
type MalformedPolicyError struct {
	Policy    string
	Statement int // -1 for document-level problems
	Sid       string
	Field     string
	Problem   string
}

func (e *MalformedPolicyError) Error() string {
	where := e.Policy
	if e.Statement >= 0 {
		where += fmt.Sprintf(": Statement[%d]", e.Statement)
		if e.Sid != "" {
			where += fmt.Sprintf(" (Sid %q)", e.Sid)
		}
	}
	if e.Field != "" {
		where += ": " + e.Field
	}
	return "MalformedPolicyDocument: " + where + ": " + e.Problem
}

var (
	actionRe    = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9_*?-]+$`)
	iamSidRe    = regexp.MustCompile(`^[A-Za-z0-9]*$`)
	statementOK = map[string]bool{"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
		"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true}
)

// MustParse is Parse for documents known to be valid (tests, embedded files); it panics otherwise.
func MustParse(kind Kind, name, doc string) *Policy {
	p, err := Parse(kind, name, []byte(doc))
	if err != nil {
		panic(err)
	}
	return p
}

// Parse validates doc as a policy of the given kind and compiles it. name labels the policy in
// errors and explanations; empty means the kind's name. Errors are *MalformedPolicyError.
func Parse(kind Kind, name string, doc []byte) (*Policy, error) {
	if name == "" {
		name = kind.String()
	}
	p := &Policy{name: name, kind: kind, doc: bytes.Clone(doc)}
	fail := func(stmt int, sid, field, format string, args ...any) error {
		return &MalformedPolicyError{Policy: name, Statement: stmt, Sid: sid, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if kind < IdentityPolicy || kind > PermissionsBoundary {
		return nil, fail(-1, "", "", "unknown policy kind %d", kind)
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, fail(-1, "", "", "not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, fail(-1, "", "", "trailing data after the JSON object")
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return nil, fail(-1, "", k, "unknown element (a policy has Version, Id and Statement)")
		}
	}
	p.version = Version2008
	if raw, ok := top["Version"]; ok {
		if err := json.Unmarshal(raw, &p.version); err != nil || (p.version != Version2012 && p.version != Version2008) {
			return nil, fail(-1, "", "Version", "must be %q (or the legacy %q), got %s", Version2012, Version2008, raw)
		}
	}
	if raw, ok := top["Id"]; ok {
		if err := json.Unmarshal(raw, &p.id); err != nil {
			return nil, fail(-1, "", "Id", "must be a string")
		}
	}
	rawStmts, ok := top["Statement"]
	if !ok {
		return nil, fail(-1, "", "Statement", "missing required element")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(rawStmts, &list); err != nil {
		list = []json.RawMessage{rawStmts} // a single statement object
	}
	if len(list) == 0 {
		return nil, fail(-1, "", "Statement", "must have at least one statement")
	}
	sids := map[string]int{}
	for i, raw := range list {
		st, err := p.compileStatement(i, raw)
		if err != nil {
			return nil, err
		}
		if st.sid != "" {
			if j, dup := sids[st.sid]; dup {
				return nil, fail(i, st.sid, "Sid", "duplicate of Statement[%d]'s Sid; statement IDs must be unique", j)
			}
			sids[st.sid] = i
		}
		p.statements = append(p.statements, st)
	}
	return p, nil
}

func (p *Policy) compileStatement(i int, raw json.RawMessage) (statement, error) {
	st := statement{index: i}
	fail := func(field, format string, args ...any) error {
		return &MalformedPolicyError{Policy: p.name, Statement: i, Sid: st.sid, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return st, fail("", "a statement must be a JSON object")
	}
	if v, ok := m["Sid"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return st, fail("Sid", "must be a string")
		}
		st.sid = s
		if p.kind != ResourcePolicy && !iamSidRe.MatchString(s) {
			return st, fail("Sid", "%q: an IAM policy's Sid may contain only letters and digits", s)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !statementOK[k] {
			return st, fail(k, "unknown element (a statement has Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)")
		}
	}

	switch m["Effect"] {
	case "Allow":
		st.effect = Allow
	case "Deny":
		st.effect = Deny
	case nil:
		return st, fail("Effect", "missing required field Effect")
	default:
		return st, fail("Effect", "must be \"Allow\" or \"Deny\" (case-sensitive), got %v", m["Effect"])
	}

	// Principal.
	pr, hasPr := m["Principal"]
	npr, hasNpr := m["NotPrincipal"]
	switch {
	case hasPr && hasNpr:
		return st, fail("Principal", "a statement cannot have both Principal and NotPrincipal")
	case (hasPr || hasNpr) && p.kind != ResourcePolicy && p.kind != TrustPolicy:
		return st, fail(map[bool]string{true: "Principal", false: "NotPrincipal"}[hasPr], "a %s should not specify a principal", p.kind)
	case !hasPr && !hasNpr && (p.kind == ResourcePolicy || p.kind == TrustPolicy):
		return st, fail("Principal", "missing required field Principal: a %s must say whom it applies to", p.kind)
	case hasNpr && p.kind == TrustPolicy:
		return st, fail("NotPrincipal", "a trust policy cannot use NotPrincipal")
	case hasNpr && st.effect == Allow:
		// The NotPrincipal page: "NotPrincipal must be used with Effect Deny. Using it with Allow
		// is not supported." Rejected rather than evaluated: it would grant to everyone not listed.
		return st, fail("NotPrincipal", "must be used with Effect \"Deny\"; NotPrincipal with \"Allow\" is not supported (it would grant to every principal not listed, anonymous callers included)")
	case hasPr || hasNpr:
		field, v := "Principal", pr
		if hasNpr {
			field, v = "NotPrincipal", npr
		}
		ps, err := parsePrincipalElement(v, hasNpr)
		if err != nil {
			return st, fail(field, "%v", err)
		}
		st.principal = ps
	}

	// Action / NotAction.
	field, av, err := exactlyOne(m, "Action", "NotAction")
	if err != nil {
		return st, fail("Action", "%v", err)
	}
	st.notAction = field == "NotAction"
	actions, err := stringList(av)
	if err != nil || len(actions) == 0 {
		return st, fail(field, "must be a non-empty string or list of strings")
	}
	for _, a := range actions {
		if a != "*" && !actionRe.MatchString(a) {
			return st, fail(field, "%q: an action is \"*\" or \"<service>:<action>\" such as \"s3:GetObject\" (wildcards * and ? allowed in the action part)", a)
		}
		st.actions = append(st.actions, strings.ToLower(a))
	}

	// Resource / NotResource.
	_, hasRes := m["Resource"]
	_, hasNotRes := m["NotResource"]
	if p.kind == TrustPolicy {
		if hasRes || hasNotRes {
			return st, fail(map[bool]string{true: "Resource", false: "NotResource"}[hasRes], "has prohibited field: a trust policy applies to its own role and has no Resource")
		}
	} else {
		field, rv, err := exactlyOne(m, "Resource", "NotResource")
		if err != nil {
			return st, fail("Resource", "%v", err)
		}
		st.notResource, st.hasResource = field == "NotResource", true
		resources, err := stringList(rv)
		if err != nil || len(resources) == 0 {
			return st, fail(field, "must be a non-empty string or list of strings")
		}
		for _, r := range resources {
			if r != "*" {
				if _, ok := splitARN(r); !ok {
					return st, fail(field, "%q must be in ARN format (arn:partition:service:region:account:resource) or \"*\"", r)
				}
			}
			pat, err := compilePattern(r, p.version == Version2012)
			if err != nil {
				return st, fail(field, "%v", err)
			}
			st.resources = append(st.resources, pat)
		}
	}

	// Condition.
	if cv, ok := m["Condition"]; ok {
		conds, err := p.compileConditions(cv)
		if err != nil {
			return st, fail("Condition", "%v", err)
		}
		st.conditions = conds
	}
	st.arnGrant = st.effect == Allow && st.principal.wildcard() && hasPrincipalArnCondition(st.conditions)
	return st, nil
}

// hasPrincipalArnCondition reports whether a condition names the caller by aws:PrincipalArn:
// a String or Arn operator that must match the key's value (not negated, not ForAllValues,
// which is true when the key is absent).
func hasPrincipalArnCondition(conds []condition) bool {
	for i := range conds {
		c := &conds[i]
		if c.key == "aws:principalarn" && (c.op.fam == famString || c.op.fam == famArn) && !c.op.negated && c.op.set != setForAll {
			return true
		}
	}
	return false
}

func (p *Policy) compileConditions(v any) ([]condition, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be an object of condition operators, such as {\"StringEquals\": {\"aws:PrincipalTag/team\": \"blue\"}}")
	}
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []condition
	for _, name := range names {
		op, err := parseOperator(name)
		if err != nil {
			return nil, err
		}
		block, ok := ops[name].(map[string]any)
		if !ok || len(block) == 0 {
			return nil, fmt.Errorf("%s must be a non-empty object of condition keys to values", name)
		}
		keys := make([]string, 0, len(block))
		for k := range block {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			if !strings.Contains(key, ":") {
				return nil, fmt.Errorf("%s %q: condition keys must be prefaced by a vendor, such as aws:PrincipalTag/team or s3:prefix", name, key)
			}
			values, err := conditionValues(block[key])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %v", name, key, err)
			}
			vars := p.version == Version2012 && (op.fam == famString || op.fam == famArn || op.fam == famBool)
			c, err := compileCondition(op, key, values, vars)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// exactlyOne returns the one of the two element names present.
func exactlyOne(m map[string]any, a, b string) (string, any, error) {
	va, okA := m[a]
	vb, okB := m[b]
	switch {
	case okA && okB:
		return "", nil, fmt.Errorf("a statement cannot have both %s and %s", a, b)
	case okA:
		return a, va, nil
	case okB:
		return b, vb, nil
	}
	return "", nil, fmt.Errorf("missing required field %s (or %s)", a, b)
}

// stringList accepts a string or a list of strings.
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("must be a string or a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a string or a list of strings")
}

// conditionValues accepts a string, number or boolean, or a list of them, as IAM does.
func conditionValues(v any) ([]string, error) {
	scalar := func(e any) (string, bool) {
		switch t := e.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if s, ok := scalar(v); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("values must be a string, number or boolean, or a list of them")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := scalar(e)
		if !ok {
			return nil, fmt.Errorf("values must be a string, number or boolean, or a list of them")
		}
		out = append(out, s)
	}
	return out, nil
}

// Resources lists the Resource and NotResource patterns as written, for services that check
// them when a policy is attached (S3 rejects a bucket policy naming another bucket).
func (p *Policy) Resources() []string {
	var out []string
	for i := range p.statements {
		for _, r := range p.statements[i].resources {
			out = append(out, r.raw)
		}
	}
	return out
}

// Actions lists the Action and NotAction patterns, lower-cased.
func (p *Policy) Actions() []string {
	var out []string
	for i := range p.statements {
		out = append(out, p.statements[i].actions...)
	}
	return out
}
