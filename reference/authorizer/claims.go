package authorizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TenantRule is the shape a tenant must have before it becomes a session tag and part of a
// bucket ARN (quilt-tenant-<tenant>): the reference MCP server's rule, which keeps the bucket
// name valid and leaves no room for wildcards, paths or spaces.
const TenantRule = "must be 1-40 lower-case letters, digits or inner hyphens (it becomes a session tag and part of a bucket ARN)"

// ValidTenant reports whether v satisfies TenantRule.
func ValidTenant(v string) bool {
	// ^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$ without a regular expression: it runs on every
	// decision.
	if len(v) == 0 || len(v) > 40 || v[0] == '-' || v[len(v)-1] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Source identities: STS takes 2-64 characters of [\w+=,.@-] (\w being ASCII letters, digits
// and _), not starting with aws:. A subject that already fits after the prefix is kept as is,
// for readable CloudTrail records; any other subject is hashed.
const (
	sourceIdentityPrefix = "usr-"
	// hashedMarker follows the prefix in hashed identities. A kept subject starts with a
	// letter or digit, so the two forms can never collide.
	hashedMarker   = "_"
	maxSubjectKept = 64 - len(sourceIdentityPrefix)
)

// isKeptSubject reports whether sub matches ^[A-Za-z0-9][A-Za-z0-9_+=,.@-]*$, without a
// regular expression: it runs on every decision.
func isKeptSubject(sub string) bool {
	if sub == "" {
		return false
	}
	for i := 0; i < len(sub); i++ {
		c := sub[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_+=,.@-", rune(c))) {
			return false
		}
	}
	return true
}

// SourceIdentity derives the STS SourceIdentity (and role session name) of a subject: "usr-"
// and the subject when the subject starts with an ASCII letter or digit, holds only
// [A-Za-z0-9_+=,.@-] and is at most 60 characters; otherwise "usr-_" and the first 160 bits of
// the subject's SHA-256 in hex (e.g. an Auth0 "auth0|…" subject). The result is stable, at most
// 64 characters, matches the trust policy's usr-* condition, and distinct subjects never share
// one (up to SHA-256 collisions).
func SourceIdentity(sub string) string {
	if len(sub) <= maxSubjectKept && isKeptSubject(sub) {
		return sourceIdentityPrefix + sub
	}
	sum := sha256.Sum256([]byte(sub))
	b := make([]byte, 0, len(sourceIdentityPrefix)+len(hashedMarker)+2*20)
	b = append(append(b, sourceIdentityPrefix...), hashedMarker...)
	return string(hex.AppendEncode(b, sum[:20]))
}

// claimSet is a verified token's payload, claim by claim.
type claimSet map[string]json.RawMessage

// str returns a string claim. A claim that is absent or null is ("", false, nil); any other
// non-string value is an error naming the claim.
func (c claimSet) str(name string) (string, bool, error) {
	raw, ok := c[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if plainJSONString(raw) {
		return string(raw[1 : len(raw)-1]), true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("claim %s must be a string", quote(name))
	}
	return s, true, nil
}

// num returns a numeric date claim (seconds since the epoch).
func (c claimSet) num(name string) (float64, bool, error) {
	raw, ok := c[name]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	// A JSON number reads as encoding/json reads it into a float64: strconv.ParseFloat of its
	// text (any other value, or a number out of range, through encoding/json itself).
	if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f, true, nil
		}
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, true, fmt.Errorf("claim %s must be a number (seconds since the epoch)", quote(name))
	}
	return f, true, nil
}

// audiences returns aud as a list (a string or an array of strings, RFC 7519 §4.1.3); null,
// empty strings and values of other types name no audience.
func (c claimSet) audiences() []string {
	raw, ok := c["aud"]
	if !ok || string(raw) == "null" {
		return nil
	}
	if plainJSONString(raw) {
		if len(raw) == 2 {
			return nil
		}
		return []string{string(raw[1 : len(raw)-1])}
	}
	var many []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		many = []string{one}
	} else {
		_ = json.Unmarshal(raw, &many)
	}
	return slices.DeleteFunc(many, func(a string) bool { return a == "" })
}

// scopes returns the scopes the token was granted in the named claim (the preset's): "" reads
// the scope claim, one space-separated string (RFC 9068 §2.2.3, RFC 8693 §4.2), else scp, which
// some IdPs use instead (a list at Okta, a space-separated string at Entra ID). Either claim is
// read as what it is: a string is split at spaces, a list taken element by element, never its
// JSON text split. Absent or null, the token has none; a value of another type is an error
// naming the claim.
func (c claimSet) scopes(claim string) ([]string, error) {
	names := []string{"scope", "scp"}
	if claim != "" {
		names = []string{claim}
	}
	for _, name := range names {
		raw, ok := c[name]
		if !ok || string(raw) == "null" {
			continue
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return strings.Fields(one), nil
		}
		var many []string
		if json.Unmarshal(raw, &many) != nil {
			return nil, fmt.Errorf("claim %s must be a space-separated string of scopes (or a list of them)", quote(name))
		}
		return slices.DeleteFunc(many, func(s string) bool { return s == "" }), nil
	}
	return nil, nil
}

// Limits of claim values this authorizer passes on or logs.
const (
	maxSubjectBytes = 255 // OpenID Connect Core §2: sub is at most 255 ASCII characters
	maxEmailBytes   = 254
	maxAgentValue   = 256
	maxCapabilities = 64
)

// checkSubject applies the rules a subject must meet before it is logged, hashed and used as a
// Cedar entity id: at most 255 bytes of printable UTF-8.
func checkSubject(sub string) error {
	switch {
	case len(sub) > maxSubjectBytes:
		return fmt.Errorf("claim sub is %d bytes; at most %d are allowed (OpenID Connect Core §2)", len(sub), maxSubjectBytes)
	case !printable(sub):
		return errors.New("claim sub must be printable UTF-8 without control characters")
	}
	return nil
}

// checkEmail applies a deliberately loose shape (one @, something on both sides, no spaces or
// control characters): the email is only logged and offered to policies, never trusted as an
// identity.
func checkEmail(v string) error {
	local, domain, ok := strings.Cut(v, "@")
	switch {
	case len(v) > maxEmailBytes:
		return fmt.Errorf("claim email is %d bytes; at most %d are allowed", len(v), maxEmailBytes)
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return fmt.Errorf("claim email %s must be one address, local@domain", quote(v))
	case !printable(v) || strings.ContainsFunc(v, unicode.IsSpace):
		return fmt.Errorf("claim email %s must not contain spaces or control characters", quote(v))
	}
	return nil
}

// checkTenantClaim validates the tenant claim's value.
func checkTenantClaim(name, v string) error {
	if !ValidTenant(v) {
		return fmt.Errorf("claim %s: %s %s", quote(name), quote(v), TenantRule)
	}
	return nil
}

// agentClaimNames are the OIDC-A claims agentClaims reads.
var agentClaimNames = [...]string{"agent_type", "agent_model", "agent_version", "agent_provider", "agent_instance_id",
	"delegator_sub", "delegation_purpose", "agent_capabilities"}

// agentClaims reads the optional OIDC-A claims; nil when none is present.
func agentClaims(c claimSet) (*Agent, error) {
	if !slices.ContainsFunc(agentClaimNames[:], func(n string) bool { _, ok := c[n]; return ok }) {
		return nil, nil
	}
	var a Agent
	found := false
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"agent_type", &a.Type}, {"agent_model", &a.Model}, {"agent_version", &a.Version},
		{"agent_provider", &a.Provider}, {"agent_instance_id", &a.InstanceID},
		{"delegator_sub", &a.DelegatorSub}, {"delegation_purpose", &a.Purpose},
	} {
		v, ok, err := c.str(f.name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := checkAgentValue(f.name, v); err != nil {
			return nil, err
		}
		*f.dst, found = v, true
	}
	if raw, ok := c["agent_capabilities"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &a.Capabilities); err != nil {
			return nil, errors.New(`claim "agent_capabilities" must be a list of strings`)
		}
		if len(a.Capabilities) > maxCapabilities {
			return nil, fmt.Errorf(`claim "agent_capabilities" has %d entries; at most %d are allowed`, len(a.Capabilities), maxCapabilities)
		}
		for i, v := range a.Capabilities {
			if err := checkAgentValue(fmt.Sprintf("agent_capabilities[%d]", i), v); err != nil {
				return nil, err
			}
		}
		found = true
	}
	if !found {
		return nil, nil
	}
	return &a, nil
}

func checkAgentValue(name, v string) error {
	if len(v) > maxAgentValue || !printable(v) {
		return fmt.Errorf("claim %s must be at most %d bytes of printable UTF-8", quote(name), maxAgentValue)
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
