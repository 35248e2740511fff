package iampolicy

import (
	"fmt"
	"regexp"
	"strings"
)

// PrincipalMatch says how a resource-based statement's Principal matched the caller; it decides
// whether the statement suffices on its own (IAM User Guide, evaluation logic).
type PrincipalMatch uint8

const (
	// NoPrincipalMatch: the statement does not name the caller.
	NoPrincipalMatch PrincipalMatch = iota
	// ViaIdentity: an identity-based statement (no Principal element): it applies to its owner.
	ViaIdentity
	// ViaAccount: the statement names the caller's account; it delegates to the account, so the
	// caller's identity policies must allow too.
	ViaAccount
	// ViaWildcard: Principal "*" (or a Deny's NotPrincipal not excluding the caller).
	ViaWildcard
	// ViaRole: the statement names the role behind the caller's session; sufficient in the same
	// account but still limited by session policies and permissions boundaries.
	ViaRole
	// ViaExact: the statement names the caller's own ARN (user, session, service); sufficient
	// in the same account and not limited by session policies or boundaries.
	ViaExact
)

func (m PrincipalMatch) String() string {
	return [...]string{"none", "identity", "account", "wildcard", "role", "exact"}[m]
}

type principalEntryKind uint8

const (
	peAny principalEntryKind = iota
	peAccount
	peRole
	peARN // exact ARN: user, session, federated user, root-as-user
	peService
	peFederated
	peCanonical
)

type principalEntry struct {
	kind    principalEntryKind
	value   string // normalised ARN, service name or provider
	account string
	name    string // role name for peRole
}

type principalSet struct {
	entries []principalEntry
	not     bool // NotPrincipal
}

var (
	accountIDRe   = regexp.MustCompile(`^\d{12}$`)
	principalARNs = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:(iam|sts)::(\d{12}):(.+)$`)
	serviceNameRe = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$`)
	canonicalRe   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// parsePrincipalElement compiles a Principal or NotPrincipal value: "*" or a map of
// AWS/Service/Federated/CanonicalUser to a string or list.
func parsePrincipalElement(raw any, not bool) (*principalSet, error) {
	ps := &principalSet{not: not}
	if s, ok := raw.(string); ok {
		if s != "*" {
			return nil, fmt.Errorf("must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::111122223333:root\"}, not the string %q", s)
		}
		ps.entries = []principalEntry{{kind: peAny}}
		return ps, nil
	}
	m, ok := raw.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("must be \"*\" or a non-empty object with AWS, Service, Federated or CanonicalUser")
	}
	for typ, v := range m {
		values, err := stringList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", typ, err)
		}
		for _, val := range values {
			e, err := parsePrincipalValue(typ, val)
			if err != nil {
				return nil, fmt.Errorf("invalid principal in policy: \"%s\":\"%s\": %v", typ, val, err)
			}
			ps.entries = append(ps.entries, e)
		}
	}
	return ps, nil
}

func parsePrincipalValue(typ, v string) (principalEntry, error) {
	switch typ {
	case "AWS":
		if v == "*" {
			return principalEntry{kind: peAny}, nil
		}
		if strings.ContainsAny(v, "*?") {
			return principalEntry{}, fmt.Errorf("partial wildcards are not allowed in a principal; use \"*\" with a condition such as ArnLike aws:PrincipalArn")
		}
		if accountIDRe.MatchString(v) {
			return principalEntry{kind: peAccount, account: v, value: "arn:aws:iam::" + v + ":root"}, nil
		}
		m := principalARNs.FindStringSubmatch(v)
		if m == nil {
			return principalEntry{}, fmt.Errorf("must be a 12-digit account ID or an IAM/STS ARN such as arn:aws:iam::111122223333:role/name")
		}
		service, account, res := m[2], m[3], m[4]
		rtype, rest, _ := strings.Cut(res, "/")
		switch {
		case service == "iam" && res == "root":
			return principalEntry{kind: peAccount, account: account, value: v}, nil
		case service == "iam" && rtype == "role" && rest != "":
			return principalEntry{kind: peRole, account: account, name: lastElem(rest), value: v}, nil
		case service == "iam" && rtype == "user" && rest != "":
			return principalEntry{kind: peARN, account: account, value: v}, nil
		case service == "sts" && rtype == "assumed-role" && strings.Count(rest, "/") == 1:
			return principalEntry{kind: peARN, account: account, value: v}, nil
		case service == "sts" && rtype == "federated-user" && rest != "":
			return principalEntry{kind: peARN, account: account, value: v}, nil
		}
		return principalEntry{}, fmt.Errorf("resource %q is not a principal (root, user/…, role/…, assumed-role/<role>/<session>, federated-user/…)", res)
	case "Service":
		if v == "*" || serviceNameRe.MatchString(v) {
			if v == "*" {
				return principalEntry{kind: peAny}, nil
			}
			return principalEntry{kind: peService, value: v}, nil
		}
		return principalEntry{}, fmt.Errorf("a service principal looks like ecs-tasks.amazonaws.com")
	case "Federated":
		if v == "" || strings.ContainsAny(v, "*? ") {
			return principalEntry{}, fmt.Errorf("a federated principal is an identity provider ARN or name such as cognito-identity.amazonaws.com")
		}
		return principalEntry{kind: peFederated, value: v}, nil
	case "CanonicalUser":
		if !canonicalRe.MatchString(v) {
			return principalEntry{}, fmt.Errorf("a canonical user ID is 64 hexadecimal characters")
		}
		return principalEntry{kind: peCanonical, value: v}, nil
	}
	return principalEntry{}, fmt.Errorf("principal type %q is not one of AWS, Service, Federated, CanonicalUser", typ)
}

// match reports how the Principal element matches the caller.
func (ps *principalSet) match(pr *principalInfo) PrincipalMatch {
	if ps.not {
		if ps.covers(pr) {
			return NoPrincipalMatch
		}
		return ViaWildcard
	}
	best := NoPrincipalMatch
	for i := range ps.entries {
		if m := ps.entries[i].match(pr); m > best {
			best = m
		}
	}
	return best
}

func (e *principalEntry) match(pr *principalInfo) PrincipalMatch {
	switch e.kind {
	case peAny:
		return ViaWildcard
	case peAccount:
		if pr.kind == pkRoot && pr.account == e.account {
			return ViaExact
		}
		if pr.account == e.account && pr.kind != pkService && pr.kind != pkFederated && pr.kind != pkAnonymous {
			return ViaAccount
		}
	case peRole:
		if pr.account != e.account {
			return NoPrincipalMatch
		}
		if pr.kind == pkSession && pr.name == e.name {
			return ViaRole
		}
		if pr.kind == pkRole && pr.arn == e.value {
			return ViaExact
		}
	case peARN:
		if pr.arn == e.value {
			return ViaExact
		}
		if pr.kind == pkFederatedUser && pr.iamUser != "" && pr.iamUser == e.value {
			// The session policies page: a resource policy naming the user adds to the user's
			// permissions before the session is created, so the session policy caps it.
			return ViaRole
		}
	case peService:
		if pr.kind == pkService && e.value == pr.arnOrService() {
			return ViaExact
		}
	case peFederated:
		if pr.kind == pkFederated && e.value == pr.arnOrService() {
			return ViaExact
		}
	}
	return NoPrincipalMatch
}

// wildcard reports whether a Principal element (not NotPrincipal) names everyone: "*" or
// {"AWS": "*"}. False for nil (an identity-based statement).
func (ps *principalSet) wildcard() bool {
	if ps == nil || ps.not {
		return false
	}
	for i := range ps.entries {
		if ps.entries[i].kind == peAny {
			return true
		}
	}
	return false
}

// covers reports whether a NotPrincipal list excludes the caller. AWS documents that a
// NotPrincipal must list the principal's own ARN and its account's ARN; the engine requires
// both, the stricter reading for Deny (Parse rejects NotPrincipal with Allow). A principal with
// a permissions boundary is never excluded; statement.check applies that rule.
func (ps *principalSet) covers(pr *principalInfo) bool {
	var self, account bool
	for i := range ps.entries {
		e := &ps.entries[i]
		switch e.kind {
		case peAny:
			return true
		case peAccount:
			if e.account == pr.account {
				account = true
				if pr.kind == pkRoot {
					self = true
				}
			}
		case peARN:
			self = self || e.value == pr.arn
		case peRole:
			self = self || (pr.kind == pkRole && pr.arn == e.value)
		case peService, peFederated:
			if (pr.kind == pkService || pr.kind == pkFederated) && e.value == pr.arnOrService() {
				return true
			}
		}
	}
	return self && account
}

// arnOrService is what a Service or Federated principal entry compares with.
func (pr *principalInfo) arnOrService() string { return pr.name }

// PrincipalARNs lists the ARNs of roles, users and sessions named in the policy's Principal
// and NotPrincipal elements (account roots, services and "*" excluded), so that IAM can reject
// a trust policy naming a principal that does not exist.
func (p *Policy) PrincipalARNs() []string {
	var out []string
	for i := range p.statements {
		if ps := p.statements[i].principal; ps != nil {
			for _, e := range ps.entries {
				if e.kind == peRole || e.kind == peARN {
					out = append(out, e.value)
				}
			}
		}
	}
	return out
}
