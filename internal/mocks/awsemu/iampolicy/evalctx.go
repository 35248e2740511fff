package iampolicy

import (
	"strconv"
	"strings"
	"time"
)

// principalKind classifies a caller ARN.
type principalKind uint8

const (
	pkAnonymous principalKind = iota
	pkRoot
	pkUser
	pkRole // the role ARN itself (rare as a caller; sessions are pkSession)
	pkSession
	pkFederatedUser
	pkService
	pkFederated
	pkOther
)

// principalInfo is a caller ARN split into its parts (substrings: no allocation).
type principalInfo struct {
	kind    principalKind
	arn     string
	account string
	name    string // user name, role name (last path element) or federated-user name
	session string // session name of an assumed-role session
	iamUser string // the IAM user behind a federated-user session
}

func parsePrincipal(p *Principal) principalInfo {
	pi := principalInfo{arn: p.ARN, account: p.Account}
	switch {
	case p.Service != "":
		pi.kind, pi.name = pkService, p.Service
		return pi
	case p.Federated != "":
		pi.kind, pi.name = pkFederated, p.Federated
		return pi
	case p.ARN == "":
		pi.kind = pkAnonymous
		return pi
	}
	a, ok := splitARN(p.ARN)
	if !ok {
		pi.kind = pkOther
		return pi
	}
	if pi.account == "" {
		pi.account = a.account
	}
	typ, rest, _ := strings.Cut(a.resource, "/")
	switch {
	case a.service == "iam" && a.resource == "root":
		pi.kind = pkRoot
	case a.service == "iam" && typ == "user":
		pi.kind, pi.name = pkUser, lastElem(rest)
	case a.service == "iam" && typ == "role":
		pi.kind, pi.name = pkRole, lastElem(rest)
	case a.service == "sts" && typ == "assumed-role":
		role, session, _ := strings.Cut(rest, "/")
		pi.kind, pi.name, pi.session = pkSession, role, session
	case a.service == "sts" && typ == "federated-user":
		pi.kind, pi.name, pi.iamUser = pkFederatedUser, rest, p.IAMUserARN
	default:
		pi.kind = pkOther
	}
	return pi
}

func lastElem(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// arnParts are the six colon-separated fields of an ARN; resource keeps any further colons.
type arnParts struct {
	partition, service, region, account, resource string
}

func splitARN(s string) (arnParts, bool) {
	var f [5]string
	rest := s
	for i := range f {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return arnParts{}, false
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	if f[0] != "arn" {
		return arnParts{}, false
	}
	return arnParts{partition: f[1], service: f[2], region: f[3], account: f[4], resource: rest}, true
}

// vals is a view of one key's values that avoids allocating for single derived values.
type vals struct {
	one   string
	many  []string
	multi bool
}

func (v vals) n() int {
	if v.multi {
		return len(v.many)
	}
	return 1
}

func (v vals) at(i int) string {
	if v.multi {
		return v.many[i]
	}
	return v.one
}

// evalCtx is the per-evaluation view of a Request: derived keys, the action's key list and
// the parsed principal. It lives on the caller's stack.
type evalCtx struct {
	req     *Request
	keys    *actionKeys // nil: the action's key list is unknown, every key is supplied
	pr      principalInfo
	parsed  bool   // pr is filled
	roleARN string // derived aws:PrincipalArn of a session, built on first use
	now     time.Time
	// hasBoundary: the caller has a permissions boundary, so no NotPrincipal excludes it.
	hasBoundary bool
}

func newEvalCtx(r *Request) evalCtx {
	return evalCtx{req: r, keys: keysForAction(r.Action)}
}

// principal parses the caller's ARN on first use: many evaluations never need it.
func (ec *evalCtx) principal() *principalInfo {
	if !ec.parsed {
		ec.pr, ec.parsed = parsePrincipal(&ec.req.Principal), true
	}
	return &ec.pr
}

// lookup returns the values of a lower-cased key as the action sees it. global says whether
// the key is a global key (precomputed by the caller: it is on the hot path).
func (ec *evalCtx) lookup(key string, global bool) (vals, bool) {
	if !global && !ec.keys.lists(key) {
		return vals{}, false
	}
	if v, ok := ec.req.Context.lookupLower(key); ok {
		return vals{many: v, multi: true}, true
	}
	return ec.derived(key)
}

// single returns the value of a key usable as a policy variable: exactly one value.
func (ec *evalCtx) single(key string, global bool) (string, bool) {
	v, ok := ec.lookup(key, global)
	if !ok || v.n() != 1 {
		return "", false
	}
	return v.at(0), true
}

// derived supplies the keys AWS computes from the caller and the clock.
func (ec *evalCtx) derived(key string) (vals, bool) {
	p := &ec.req.Principal
	if tag, ok := strings.CutPrefix(key, "aws:principaltag/"); ok {
		if v, ok := p.Tags[tag]; ok { // tag keys are usually lower-case already
			return vals{one: v}, true
		}
		for k, v := range p.Tags {
			if strings.EqualFold(k, tag) {
				return vals{one: v}, true
			}
		}
		return vals{}, false
	}
	str := func(s string) (vals, bool) { return vals{one: s}, s != "" }
	switch key {
	case "aws:principalarn":
		return str(ec.principalARN())
	case "aws:principalaccount":
		return str(ec.principal().account)
	case "aws:sourceidentity":
		return str(p.SourceIdentity)
	case "aws:userid":
		return str(p.UserID)
	case "aws:username":
		if ec.principal().kind == pkUser {
			return str(ec.principal().name)
		}
	case "aws:principaltype":
		return str(ec.principalType())
	case "aws:principalservicename":
		return str(p.Service)
	case "aws:federatedprovider":
		return str(p.Federated)
	case "aws:currenttime":
		return vals{one: ec.clock().UTC().Format(time.RFC3339)}, true
	case "aws:epochtime":
		return vals{one: strconv.FormatInt(ec.clock().Unix(), 10)}, true
	}
	return vals{}, false
}

func (ec *evalCtx) clock() time.Time {
	if ec.now.IsZero() {
		ec.now = ec.req.Time
		if ec.now.IsZero() {
			ec.now = time.Now()
		}
	}
	return ec.now
}

// principalARN is aws:PrincipalArn: for a role session, the role's ARN, not the session's.
func (ec *evalCtx) principalARN() string {
	pr := ec.principal()
	if pr.kind != pkSession {
		return pr.arn
	}
	if ec.req.Principal.RoleARN != "" {
		return ec.req.Principal.RoleARN
	}
	if ec.roleARN == "" {
		a, _ := splitARN(pr.arn)
		ec.roleARN = "arn:" + a.partition + ":iam::" + pr.account + ":role/" + pr.name
	}
	return ec.roleARN
}

func (ec *evalCtx) principalType() string {
	switch ec.principal().kind {
	case pkRoot:
		return "Account"
	case pkUser:
		return "User"
	case pkSession:
		return "AssumedRole"
	case pkFederatedUser:
		return "FederatedUser"
	case pkAnonymous:
		return "Anonymous"
	}
	return ""
}
