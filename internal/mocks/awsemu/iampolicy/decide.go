package iampolicy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Outcome is the final authorization decision.
type Outcome string

// The three outcomes of IAM policy evaluation.
const (
	Allowed      Outcome = "Allow"
	ExplicitDeny Outcome = "ExplicitDeny"
	ImplicitDeny Outcome = "ImplicitDeny"
)

// Input is everything that bears on one request.
type Input struct {
	Request *Request
	// Identity are the caller's identity-based policies (inline and managed).
	Identity []*Policy
	// Resource is the resource-based policy: a bucket policy, or a role's trust policy for
	// sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity. May be nil.
	Resource *Policy
	// Session are the session policies of the caller's session (inline Policy and PolicyArns);
	// when present, the session may do only what at least one of them allows.
	Session []*Policy
	// Boundary is the caller's permissions boundary. May be nil.
	Boundary *Policy
	// ResourceAccount owns the resource. Empty: the account in the resource ARN, or, for ARNs
	// without one (S3), the caller's account.
	ResourceAccount string
	// RequireResourcePolicy says the resource policy must allow even in the same account, as a
	// role's trust policy must for sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity:
	// an identity-based allow alone never lets anyone assume a role. It is implied when
	// Resource is a TrustPolicy.
	RequireResourcePolicy bool
	// PoliciesOnly decides on the given policies alone: the account root user's implicit full
	// access is not granted, as IAM's policy simulator (SimulateCustomPolicy, which simulates
	// the account root when given no caller) evaluates only the policies it is given.
	PoliciesOnly bool
}

// Decision is the outcome with its explanation.
type Decision struct {
	Decision Outcome `json:"decision"`
	// Matched are the statements that decided: the Deny statements for ExplicitDeny, the Allow
	// statements that granted for Allow; empty for ImplicitDeny.
	Matched []Match `json:"matched"`
	// Reason is one line a person can act on.
	Reason string `json:"reason"`
	// IgnoredContextKeys are request keys that AWS does not supply for the action and that were
	// therefore treated as absent.
	IgnoredContextKeys []string `json:"ignoredContextKeys,omitempty"`
	// NearMisses are Allow statements that named the action but did not apply, and why.
	NearMisses []NearMiss `json:"nearMisses,omitempty"`
}

// Match names one statement.
type Match struct {
	Policy    string `json:"policy"`
	Sid       string `json:"sid"`
	Statement int    `json:"statement"`
	Effect    string `json:"effect"`
}

// NearMiss is an Allow statement that named the action but did not apply to the request.
type NearMiss struct {
	Policy    string `json:"policy"`
	Sid       string `json:"sid"`
	Statement int    `json:"statement"`
	Problem   string `json:"problem"`
}

// Allowed reports whether the decision is Allow.
func (d Decision) Allowed() bool { return d.Decision == Allowed }

// Decide evaluates a request the way the IAM User Guide's evaluation logic does: an explicit
// Deny in any policy wins; in the same account an Allow from the identity policies or the
// resource policy suffices; across accounts both must allow; session policies and the
// permissions boundary then cap the identity-based grant. A resource-based statement that
// names only the caller's account delegates to the identity policies; in the same account, one
// that names the caller's exact ARN (user or session), or names "*" and matches the caller by
// an aws:PrincipalArn condition, is not capped by session policies or the boundary. A Deny
// with NotPrincipal applies to a caller with a permissions boundary even when it lists the
// caller.
func Decide(in Input) Decision {
	r := in.Request
	ec := newEvalCtx(r)
	ec.hasBoundary = in.Boundary != nil
	d := Decision{Matched: []Match{}, IgnoredContextKeys: ignoredKeys(&ec)}
	pr := ec.principal()
	if strings.EqualFold(r.Action, "sts:GetCallerIdentity") && pr.kind != pkAnonymous {
		// The GetCallerIdentity API reference: "No permissions are required to perform this
		// operation. If an administrator attaches a policy to your identity that explicitly
		// denies access to the sts:GetCallerIdentity action, you can still perform this operation."
		d.Decision = Allowed
		d.Reason = "sts:GetCallerIdentity needs no permission: AWS answers it for any authenticated caller, even under an explicit deny"
		return d
	}

	all := make([]*Policy, 0, len(in.Identity)+len(in.Session)+2)
	all = append(all, in.Identity...)
	if in.Resource != nil {
		all = append(all, in.Resource)
	}
	all = append(all, in.Session...)
	if in.Boundary != nil {
		all = append(all, in.Boundary)
	}
	var firstDeny *statement
	for _, p := range all {
		for _, i := range p.matching(&ec, Deny) {
			d.Matched = append(d.Matched, match(p, i))
			if firstDeny == nil {
				firstDeny = &p.statements[i]
			}
		}
	}
	if len(d.Matched) > 0 {
		d.Decision = ExplicitDeny
		first := d.Matched[0]
		d.Reason = fmt.Sprintf("explicit deny in %s statement %s for %s on %s", first.Policy, stmtLabel(first), r.Action, r.Resource)
		if ps := firstDeny.principal; ps != nil && ps.not && ps.covers(ec.principal()) {
			d.Reason += " (its NotPrincipal lists the caller, but a Deny with NotPrincipal applies to every principal with a permissions boundary)"
		}
		return d
	}

	// Anonymous callers and service principals have no identity policies of their own: only
	// the resource policy can grant them anything.
	noIdentity := pr.kind == pkAnonymous || pr.kind == pkService || pr.kind == pkFederated
	if pr.kind == pkFederatedUser {
		// The GetFederationToken API reference: such a session cannot call IAM, nor STS but
		// GetCallerIdentity, whatever its policies say.
		if svc, _, _ := strings.Cut(r.Action, ":"); strings.EqualFold(svc, "iam") || strings.EqualFold(svc, "sts") {
			return implicitDeny(d, fmt.Sprintf("a federated-user session (GetFederationToken) cannot call %s: it may call no IAM operation and no STS operation but GetCallerIdentity", r.Action))
		}
	}
	var granted []Match
	identityAllows := false
	root := pr.kind == pkRoot && !in.PoliciesOnly
	if root {
		// The account root user has every permission in its account with no policy at all
		// ("AWS account root user"); only an explicit deny (checked above) or, across accounts,
		// the resource's policy limits it.
		identityAllows = true
		granted = append(granted, Match{Policy: "the account root user's implicit full access", Statement: -1, Effect: "Allow"})
	}
	for _, p := range in.Identity {
		if noIdentity || root {
			break
		}
		for _, i := range p.matching(&ec, Allow) {
			identityAllows = true
			granted = append(granted, match(p, i))
		}
	}
	via := NoPrincipalMatch
	arnGrant := false // a granting resource statement is Principal "*" with aws:PrincipalArn
	if in.Resource != nil {
		if res := in.Resource.evaluate(&ec); res.Effect == Allow {
			via = res.Via
			for _, i := range in.Resource.matching(&ec, Allow) {
				granted = append(granted, match(in.Resource, i))
				arnGrant = arnGrant || in.Resource.statements[i].arnGrant
			}
		}
	}
	resourceAccount := in.ResourceAccount
	if resourceAccount == "" {
		if a, ok := splitARN(r.Resource); ok && a.account != "" {
			resourceAccount = a.account
		} else {
			resourceAccount = ec.principal().account
		}
	}
	cross := !noIdentity && ec.principal().account != resourceAccount

	deny := func(reason string) Decision {
		d.Decision, d.Reason, d.Matched = ImplicitDeny, reason, []Match{}
		d.NearMisses = nearMisses(&ec, all)
		if len(d.NearMisses) > 0 {
			nm := d.NearMisses[0]
			d.Reason += fmt.Sprintf("; nearest: %s statement %s: %s", nm.Policy, stmtLabel(Match{Sid: nm.Sid, Statement: nm.Statement}), nm.Problem)
		}
		return d
	}
	// Only denials name the request in words: an allowed request, the common case, builds no text for it.
	who := func() string { return fmt.Sprintf("%s for %s on %s", r.Action, principalLabel(r), r.Resource) }
	required := in.RequireResourcePolicy || (in.Resource != nil && in.Resource.kind == TrustPolicy)
	switch {
	case required && via == NoPrincipalMatch:
		if in.Resource == nil {
			return deny(fmt.Sprintf("%s needs a resource policy (such as a role's trust policy) that allows it, and there is none", who()))
		}
		return deny(fmt.Sprintf("no statement in %s allows %s", in.Resource.name, who()))
	case !cross && via == ViaExact:
		// A resource policy naming the exact caller is enough on its own.
	case cross && via == NoPrincipalMatch:
		if in.Resource == nil {
			return deny(fmt.Sprintf("cross-account request (caller in %s, resource in %s) needs the resource's policy to allow it, and there is none: %s", ec.principal().account, resourceAccount, who()))
		}
		return deny(fmt.Sprintf("cross-account request (caller in %s, resource in %s): no statement in the %s allows %s", ec.principal().account, resourceAccount, in.Resource.name, who()))
	case cross && !identityAllows:
		return deny(fmt.Sprintf("cross-account request: the %s allows it but no statement in the caller's identity policies allows %s", in.Resource.name, who()))
	case !cross && !identityAllows && (via == ViaWildcard || via == ViaRole):
		// A resource policy naming the caller's role (or everyone) grants in the same account.
	case !identityAllows:
		if via == ViaAccount {
			return deny(fmt.Sprintf("the %s names account %s, which delegates to the caller's identity policies, and no statement in them allows %s", in.Resource.name, ec.principal().account, who()))
		}
		return deny(fmt.Sprintf("no statement in %s allows %s", consulted(in), who()))
	}
	// A same-account grant naming the exact caller is not capped by session policies or the
	// boundary; nor, per the Principal page ("IAM role principals"), is one made with Principal
	// "*" and an aws:PrincipalArn condition. Across accounts the caller's side still caps both.
	if cross || (via != ViaExact && !arnGrant) {
		if in.Boundary != nil && in.Boundary.evaluate(&ec).Effect != Allow {
			return deny(fmt.Sprintf("the permissions boundary %s does not allow %s", in.Boundary.name, who()))
		}
		if len(in.Session) > 0 && !anyAllows(&ec, in.Session) {
			return deny(fmt.Sprintf("no session policy allows %s (the session may do only what its session policies allow)", who()))
		}
		if len(in.Session) == 0 && pr.kind == pkFederatedUser {
			// The GetFederationToken API reference: "if you do not pass a policy, then the
			// resulting federated user session has no permissions".
			return deny(fmt.Sprintf("a federated-user session without a session policy has no permissions (only a resource policy naming the session's own ARN grants it anything): %s", who()))
		}
	}
	d.Decision, d.Matched = Allowed, granted
	d.Reason = "allowed by " + grantLabel(granted[0])
	if last := granted[len(granted)-1]; last.Policy != granted[0].Policy && (cross || required || via == ViaAccount) {
		d.Reason += " and " + grantLabel(last) // both sides were needed
	}
	return d
}

// implicitDeny ends a decision with an implicit deny for a rule outside the policies.
func implicitDeny(d Decision, reason string) Decision {
	d.Decision, d.Reason, d.Matched = ImplicitDeny, reason, []Match{}
	return d
}

func anyAllows(ec *evalCtx, ps []*Policy) bool {
	for _, p := range ps {
		if p.evaluate(ec).Effect == Allow {
			return true
		}
	}
	return false
}

// matching lists the statements with the given effect that apply to the request.
func (p *Policy) matching(ec *evalCtx, effect Effect) []int {
	var out []int
	for i := range p.statements {
		st := &p.statements[i]
		if st.effect != effect {
			continue
		}
		if _, stage, _ := st.check(ec); stage == stageMatched {
			out = append(out, i)
		}
	}
	return out
}

func match(p *Policy, i int) Match {
	st := &p.statements[i]
	return Match{Policy: p.name, Sid: st.sid, Statement: i, Effect: st.effect.String()}
}

func grantLabel(m Match) string {
	if m.Statement < 0 {
		return m.Policy // a grant that no statement makes, such as the root user's
	}
	return m.Policy + " statement " + stmtLabel(m)
}

func stmtLabel(m Match) string {
	if m.Sid != "" {
		return strconv.Quote(m.Sid) // as fmt's %q writes a string
	}
	return "#" + strconv.Itoa(m.Statement)
}

func principalLabel(r *Request) string {
	switch {
	case r.Principal.ARN != "":
		return r.Principal.ARN
	case r.Principal.Service != "":
		return r.Principal.Service
	case r.Principal.Federated != "":
		return r.Principal.Federated
	}
	return "an anonymous caller"
}

// consulted names the policies that could have allowed, for "no statement in … allows".
func consulted(in Input) string {
	var names []string
	for _, p := range in.Identity {
		names = append(names, p.name)
	}
	if in.Resource != nil {
		names = append(names, in.Resource.name)
	}
	switch len(names) {
	case 0:
		return "any policy (none was given)"
	case 1, 2:
		return strings.Join(names, " or ")
	}
	return fmt.Sprintf("the %d identity policies or %s", len(in.Identity), strings.Join(names[len(in.Identity):], ""))
}

// ignoredKeys lists request keys the action does not see.
func ignoredKeys(ec *evalCtx) []string {
	if ec.keys == nil {
		return nil
	}
	var out []string
	for lower, e := range ec.req.Context.m {
		if !ec.keys.supplies(lower) {
			out = append(out, e.name)
		}
	}
	sort.Strings(out)
	return out
}

// nearMisses explains, for each Allow statement that named the action, why it did not apply.
func nearMisses(ec *evalCtx, ps []*Policy) []NearMiss {
	var out []NearMiss
	for _, p := range ps {
		for i := range p.statements {
			st := &p.statements[i]
			if st.effect != Allow {
				continue
			}
			_, stage, ci := st.check(ec)
			var problem string
			switch stage {
			case stageResource:
				problem = "its Resource does not match " + ec.req.Resource + st.resourceHint(ec)
			case stagePrincipal:
				problem = "its Principal does not name " + principalLabel(ec.req)
			case stageCondition:
				problem = st.conditions[ci].explain(ec)
			default:
				continue
			}
			out = append(out, NearMiss{Policy: p.name, Sid: st.sid, Statement: i, Problem: problem})
		}
	}
	return out
}

// resourceHint shows what variable-bearing resources resolved to, or why they did not.
func (st *statement) resourceHint(ec *evalCtx) string {
	var parts []string
	for _, pat := range st.resources {
		if !pat.hasVars() {
			continue
		}
		var buf [maxParts]patPart
		toks, ok := pat.resolve(ec, &buf)
		if !ok {
			parts = append(parts, fmt.Sprintf("%s has a policy variable with no value in this request", pat.raw))
			continue
		}
		var b strings.Builder
		for _, t := range toks {
			b.WriteString(t.text)
		}
		parts = append(parts, fmt.Sprintf("%s resolved to %s", pat.raw, b.String()))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// explain says why a condition was false.
func (c *condition) explain(ec *evalCtx) string {
	head := fmt.Sprintf("condition %s %s %s", c.op.name, c.keyRaw, quoteList(c.rawValues()))
	if _, inContext := ec.req.Context.lookupLower(c.key); inContext && !ec.keys.supplies(c.key) {
		return fmt.Sprintf("%s is false: AWS does not supply %s for %s, so it counts as absent", head, c.keyRaw, ec.req.Action)
	}
	rv, present := ec.lookup(c.key, c.global)
	if !present || rv.n() == 0 {
		suffix := ""
		if !KnownConditionKey(c.keyRaw) {
			suffix = fmt.Sprintf(" (%s is not a condition key of any action the engine knows; check the spelling)", c.keyRaw)
		}
		return fmt.Sprintf("%s is false: the request has no %s%s", head, c.keyRaw, suffix)
	}
	got := make([]string, rv.n())
	for i := range got {
		got[i] = rv.at(i)
	}
	for i := range c.values {
		if c.values[i].vars {
			if _, ok := c.matchOne(ec, &c.values[i], got[0]); !ok {
				return fmt.Sprintf("%s is false: policy variable in %q has no value in this request", head, c.values[i].raw)
			}
		}
	}
	return fmt.Sprintf("%s is false for request value %s", head, quoteList(got))
}

func (c *condition) rawValues() []string {
	out := make([]string, len(c.values))
	for i, v := range c.values {
		out[i] = v.raw
	}
	return out
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}
