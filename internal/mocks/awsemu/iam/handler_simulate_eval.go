package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// XML shapes of SimulatePrincipalPolicy / SimulateCustomPolicy (types.EvaluationResult).

type xmlPosition struct {
	Line   int
	Column int
}

type xmlStatement struct {
	SourcePolicyId   string //nolint:revive // IAM's element name
	SourcePolicyType string
	StartPosition    *xmlPosition `xml:",omitempty"`
	EndPosition      *xmlPosition `xml:",omitempty"`
}

type xmlBoundaryDetail struct {
	AllowedByPermissionsBoundary bool
}

// xmlOrganizationsDetail is types.OrganizationsDecisionDetail. The emulator has no AWS
// Organizations, so no SCP denies: IAM reports AllowedByOrganizations true then (recorded).
type xmlOrganizationsDetail struct {
	AllowedByOrganizations bool
}

type xmlResourceResult struct {
	EvalResourceName                  string
	EvalResourceDecision              string
	MatchedStatements                 members[xmlStatement]
	MissingContextValues              members[string]
	EvalDecisionDetails               *struct{}          `xml:",omitempty"`
	PermissionsBoundaryDecisionDetail *xmlBoundaryDetail `xml:",omitempty"`
}

type xmlEvalResult struct {
	EvalActionName                    string
	EvalResourceName                  string
	EvalDecision                      string
	MatchedStatements                 members[xmlStatement]
	MissingContextValues              members[string]
	EvalDecisionDetails               *struct{} `xml:",omitempty"`
	OrganizationsDecisionDetail       xmlOrganizationsDetail
	PermissionsBoundaryDecisionDetail *xmlBoundaryDetail          `xml:",omitempty"`
	ResourceSpecificResults           *members[xmlResourceResult] `xml:",omitempty"`
}

type simulateResult struct {
	EvaluationResults members[xmlEvalResult]
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

// evalDecision spells an outcome as IAM's API does.
func evalDecision(o iampolicy.Outcome) string {
	switch o {
	case iampolicy.Allowed:
		return "allowed"
	case iampolicy.ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

type simOutcome struct {
	result   xmlEvalResult
	decision iampolicy.Decision
}

func (h *Handler) runSimulation(c *Call, sim *simulation) any {
	resources := sim.resources
	explicit := len(resources) > 0
	if !explicit {
		resources = []string{"*"}
	}
	now := c.Time
	if now.IsZero() {
		now = h.store.Now()
	}
	for _, e := range sim.context {
		if strings.EqualFold(e.Name, "aws:CurrentTime") && len(e.Values) == 1 {
			if t, ok := parseContextDate(e.Values[0]); ok {
				now = t
			}
		}
	}
	byLabel := map[string]*simSource{}
	var sources []*simSource
	identity := make([]*iampolicy.Policy, 0, len(sim.identity))
	for i := range sim.identity {
		s := &sim.identity[i]
		identity = append(identity, s.policy)
		sources = append(sources, s)
	}
	for _, s := range []*simSource{sim.resource, sim.boundary} {
		if s != nil {
			sources = append(sources, s)
		}
	}
	for _, s := range sources {
		byLabel[s.policy.Name()] = s
	}
	spans := map[*simSource][]span{}
	shapes := map[*simSource][]stmtShape{}
	for _, s := range sources {
		spans[s] = statementSpans(s.policy.Document())
		shapes[s] = statementShapes(s.policy.Document())
	}

	var outcomes []simOutcome
	for _, action := range sim.actions {
		for _, res := range resources {
			req := &iampolicy.Request{Action: action, Resource: res, Principal: sim.principal, Time: now}
			for _, e := range sim.context {
				req.Context.Set(e.Name, e.Values...)
			}
			in := iampolicy.Input{Request: req, Identity: identity, ResourceAccount: sim.owner, PoliciesOnly: true}
			if sim.resource != nil {
				in.Resource = sim.resource.policy
			}
			if sim.boundary != nil {
				in.Boundary = sim.boundary.policy
			}
			d := iampolicy.Decide(in)
			stmts := members[xmlStatement]{Member: []xmlStatement{}}
			for _, m := range d.Matched {
				s := byLabel[m.Policy]
				if s == nil {
					continue
				}
				st := xmlStatement{SourcePolicyId: s.id, SourcePolicyType: s.typ}
				if sp := spans[s]; m.Statement < len(sp) {
					st.StartPosition, st.EndPosition = &sp[m.Statement].start, &sp[m.Statement].end
				}
				stmts.Member = append(stmts.Member, st)
			}
			missing := members[string]{Member: missingKeys(action, req, sources, shapes)}
			var bd *xmlBoundaryDetail
			if sim.boundary != nil {
				bd = &xmlBoundaryDetail{AllowedByPermissionsBoundary: sim.boundary.policy.Evaluate(req).Effect == iampolicy.Allow}
			}
			r := xmlEvalResult{EvalActionName: action, EvalResourceName: res, EvalDecision: evalDecision(d.Decision),
				MatchedStatements: stmts, MissingContextValues: missing, PermissionsBoundaryDecisionDetail: bd,
				OrganizationsDecisionDetail: xmlOrganizationsDetail{AllowedByOrganizations: true}}
			if explicit {
				// With explicit resources IAM reports missing keys per resource, and an empty
				// EvalDecisionDetails for a same-account simulation (on the result, not in its
				// ResourceSpecificResults, as recorded from AWS).
				r.MissingContextValues = members[string]{Member: []string{}}
				r.EvalDecisionDetails = &struct{}{}
				r.ResourceSpecificResults = &members[xmlResourceResult]{Member: []xmlResourceResult{{
					EvalResourceName: res, EvalResourceDecision: r.EvalDecision, MatchedStatements: stmts,
					MissingContextValues: missing, PermissionsBoundaryDecisionDetail: bd}}}
			}
			outcomes = append(outcomes, simOutcome{result: r, decision: d})
		}
	}
	index := make([]int, len(outcomes))
	for i := range index {
		index[i] = i
	}
	page, truncated, marker := paginate(sim.page, index, func(i int) string { return fmt.Sprintf("%08d", i) })
	out := simulateResult{EvaluationResults: members[xmlEvalResult]{Member: []xmlEvalResult{}}, IsTruncated: truncated, Marker: marker}
	for _, i := range page {
		o := outcomes[i]
		out.EvaluationResults.Member = append(out.EvaluationResults.Member, o.result)
		h.logSimulation(c, sim, o)
	}
	return out
}

// logSimulation writes what the API has no field for: why.
func (h *Handler) logSimulation(c *Call, sim *simulation, o simOutcome) {
	d := o.decision
	attrs := []any{"request_id", c.RequestID, "operation", c.Params.Action, "caller", c.Caller.ARN,
		"simulated_principal", sim.principal.ARN, "action", o.result.EvalActionName, "resource", o.result.EvalResourceName,
		"decision", o.result.EvalDecision, "reason", d.Reason}
	if len(d.Matched) > 0 {
		matched := make([]string, len(d.Matched))
		for i, m := range d.Matched {
			matched[i] = fmt.Sprintf("%s statement %d (Sid %q, %s)", m.Policy, m.Statement, m.Sid, m.Effect)
		}
		attrs = append(attrs, "matched", matched)
	}
	if len(d.NearMisses) > 0 {
		near := make([]string, len(d.NearMisses))
		for i, n := range d.NearMisses {
			near[i] = fmt.Sprintf("%s statement %d (Sid %q): %s", n.Policy, n.Statement, n.Sid, n.Problem)
		}
		attrs = append(attrs, "near_misses", near)
	}
	if len(d.IgnoredContextKeys) > 0 {
		attrs = append(attrs, "ignored_context_keys", d.IgnoredContextKeys)
	}
	h.log.Info("iam simulation", attrs...)
}

// ---- statement positions ----

type span struct{ start, end xmlPosition }

// statementSpans finds where each statement of a policy document starts (its "{", 1-based
// line and column, columns counted in characters) and ends (just past its "}").
func statementSpans(doc []byte) []span {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		if key, _ := t.(string); key != "Statement" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		start := skipSpace(doc, int(dec.InputOffset()))
		if start < len(doc) && doc[start] == '{' {
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				return nil
			}
			return []span{{position(doc, start), position(doc, int(dec.InputOffset()))}}
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var out []span
		for dec.More() {
			s := skipSpace(doc, int(dec.InputOffset()))
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				return nil
			}
			out = append(out, span{position(doc, s), position(doc, int(dec.InputOffset()))})
		}
		return out
	}
	return nil
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r' || doc[i] == ':' || doc[i] == ',') {
		i++
	}
	return i
}

func position(doc []byte, off int) xmlPosition {
	line, col := 1, 1
	for i := 0; i < off && i < len(doc); {
		r, n := utf8.DecodeRune(doc[i:])
		i += n
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return xmlPosition{Line: line, Column: col}
}

// ---- missing context values ----

// stmtShape is what MissingContextValues needs of a statement: which actions it covers and
// which keys its conditions and policy variables read.
type stmtShape struct {
	actions   []string
	notAction bool
	keys      []string
}

var policyVarRe = regexp.MustCompile(`\$\{([^}]*)\}`)

func statementShapes(doc []byte) []stmtShape {
	var top struct{ Statement json.RawMessage }
	if json.Unmarshal(doc, &top) != nil {
		return nil
	}
	var raws []map[string]json.RawMessage
	if json.Unmarshal(top.Statement, &raws) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(top.Statement, &one) != nil {
			return nil
		}
		raws = append(raws, one)
	}
	out := make([]stmtShape, 0, len(raws))
	for _, st := range raws {
		var sh stmtShape
		if a, ok := st["NotAction"]; ok {
			sh.actions, sh.notAction = stringsOf(a), true
		} else {
			sh.actions = stringsOf(st["Action"])
		}
		var cond map[string]map[string]json.RawMessage
		if json.Unmarshal(st["Condition"], &cond) == nil {
			for _, kv := range cond {
				for k, v := range kv {
					sh.keys = append(sh.keys, k)
					sh.keys = append(sh.keys, variables(stringsOf(v))...)
				}
			}
		}
		sh.keys = append(sh.keys, variables(stringsOf(st["Resource"]))...)
		sh.keys = append(sh.keys, variables(stringsOf(st["NotResource"]))...)
		out = append(out, sh)
	}
	return out
}

func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

func variables(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, m := range policyVarRe.FindAllStringSubmatch(v, -1) {
			name, _, _ := strings.Cut(m[1], ",")
			name = strings.TrimSpace(name)
			if name != "*" && name != "?" && name != "$" && name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// missingKeys lists the condition keys (and policy variables) of the statements that cover
// action which the request neither carries nor derives from its principal or clock.
func missingKeys(action string, req *iampolicy.Request, sources []*simSource, shapes map[*simSource][]stmtShape) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range sources {
		for _, sh := range shapes[s] {
			if !sh.covers(action) {
				continue
			}
			for _, k := range sh.keys {
				lower := strings.ToLower(k)
				if seen[lower] || supplied(lower, req) {
					continue
				}
				seen[lower] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (sh stmtShape) covers(action string) bool {
	hit := false
	for _, a := range sh.actions {
		if globMatch(strings.ToLower(a), strings.ToLower(action)) {
			hit = true
			break
		}
	}
	return hit != sh.notAction
}

func supplied(lower string, req *iampolicy.Request) bool {
	if _, ok := req.Context.Get(lower); ok {
		return true
	}
	p := req.Principal
	if tag, ok := strings.CutPrefix(lower, "aws:principaltag/"); ok {
		for k := range p.Tags {
			if strings.EqualFold(k, tag) {
				return true
			}
		}
		return false
	}
	switch lower {
	case "aws:currenttime", "aws:epochtime":
		return true
	case "aws:principalarn", "aws:principalaccount", "aws:principaltype":
		return p.ARN != ""
	case "aws:userid":
		return p.UserID != ""
	case "aws:username":
		a, ok := splitIAMARN(p.ARN)
		return ok && a.kind == "user"
	case "aws:sourceidentity":
		return p.SourceIdentity != ""
	}
	return false
}

// globMatch matches IAM's action wildcards: * any run, ? one character.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// hasResourceElement reports whether any statement has Resource or NotResource: a resource
// policy without either is taken as a trust policy, as `mcpsso policy simulate` does.
func hasResourceElement(doc string) bool {
	var top struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(doc), &top) != nil {
		return true // let Parse report the problem as a resource policy
	}
	var raws []map[string]json.RawMessage
	if json.Unmarshal(top.Statement, &raws) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(top.Statement, &one) != nil {
			return true
		}
		raws = append(raws, one)
	}
	for _, st := range raws {
		if _, ok := st["Resource"]; ok {
			return true
		}
		if _, ok := st["NotResource"]; ok {
			return true
		}
	}
	return false
}
