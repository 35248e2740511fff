package iampolicy

// Result is what one policy says about a request.
type Result struct {
	// Effect is Deny if a Deny statement applies, else Allow if an Allow statement applies,
	// else NoMatch.
	Effect Effect
	// Statement is the index of the deciding statement (-1 for NoMatch); for Allow, the one
	// whose principal match is strongest.
	Statement int
	// Sid is the deciding statement's Sid.
	Sid string
	// Via says how the deciding Allow statement's Principal matched (resource-based and trust
	// policies); ViaIdentity for identity-based policies.
	Via PrincipalMatch
}

// Evaluate matches the policy against r. It does not allocate. It sees the policy alone: rules
// that depend on the caller's other policies (a NotPrincipal never excludes a principal with a
// permissions boundary) apply in Decide.
func (p *Policy) Evaluate(r *Request) Result {
	ec := newEvalCtx(r)
	return p.evaluate(&ec)
}

func (p *Policy) evaluate(ec *evalCtx) Result {
	res := Result{Statement: -1}
	for i := range p.statements {
		st := &p.statements[i]
		via, stage, _ := st.check(ec)
		if stage != stageMatched {
			continue
		}
		if st.effect == Deny {
			return Result{Effect: Deny, Statement: i, Sid: st.sid}
		}
		if res.Effect == NoMatch || via > res.Via {
			res = Result{Effect: Allow, Statement: i, Sid: st.sid, Via: via}
		}
	}
	return res
}

// stage is how far a statement got in matching a request; used to explain near misses.
type stage uint8

const (
	stageAction stage = iota
	stageResource
	stagePrincipal
	stageCondition
	stageMatched
)

// check matches one statement. When a condition fails, cond is its index.
func (st *statement) check(ec *evalCtx) (via PrincipalMatch, failed stage, cond int) {
	if !st.matchAction(ec.req.Action) {
		return NoPrincipalMatch, stageAction, -1
	}
	if !st.matchResource(ec) {
		return NoPrincipalMatch, stageResource, -1
	}
	via = ViaIdentity
	if st.principal != nil {
		via = st.principal.match(ec.principal())
		if via == NoPrincipalMatch && st.principal.not && st.effect == Deny && ec.hasBoundary {
			// The NotPrincipal page: a Deny with NotPrincipal "will always deny any IAM principal
			// that has a permissions boundary policy attached, regardless of the values specified
			// in the NotPrincipal element".
			via = ViaWildcard
		}
		if via == NoPrincipalMatch {
			return NoPrincipalMatch, stagePrincipal, -1
		}
	}
	for i := range st.conditions {
		if !st.conditions[i].eval(ec) {
			return NoPrincipalMatch, stageCondition, i
		}
	}
	return via, stageMatched, -1
}

func (st *statement) matchAction(action string) bool {
	hit := false
	for _, a := range st.actions {
		if a == "*" || globMatch(a, action, true) {
			hit = true
			break
		}
	}
	return hit != st.notAction
}

// matchResource matches case-sensitively; a resource entry whose variable has no value matches
// nothing.
func (st *statement) matchResource(ec *evalCtx) bool {
	if !st.hasResource {
		return true // trust policy: the role being assumed
	}
	hit := false
	for i := range st.resources {
		var buf [maxParts]patPart
		toks, ok := st.resources[i].resolve(ec, &buf)
		if ok && matchTokens(toks, ec.req.Resource, false) {
			hit = true
			break
		}
	}
	return hit != st.notResource
}
