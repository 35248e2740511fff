package adversarial

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// keylessForgery makes a token from what anyone holding one valid token of the deployment has,
// without the IdP's private key: the token itself, the IdP's published key, and keys and
// servers of their own. Each changes one thing, so a refusal can only be for that thing.
type keylessForgery struct {
	name string
	make func(f forger) (string, error)
}

// forger is what a keyless forgery starts from.
type forger struct {
	v validToken
	a *attacker
	// tenant is the token's user's tenant, as the target names it.
	tenant string
	// victimSub and victimTenant are what the claim changes put in place of the user's own: those
	// of another user of the deployment when the target has one, made-up ones otherwise.
	victimSub, victimTenant string
}

// errNoTenantClaim: the token carries the user's tenant in no claim, so there is nothing to
// change (the deployment takes the tenant from elsewhere, e.g. its mapping of sub).
var errNoTenantClaim = errors.New("the token carries the user's tenant in no claim")

// unsigned: alg "none" (RFC 7518 §3.6), which a verifier must never accept for an access token,
// with the signature part as libraries have been fooled by it, and in the casings that slipped
// past case-sensitive deny lists.
var unsigned = []keylessForgery{
	{`alg "none" with an empty signature part (header.payload.)`, algNone("none", func(string) string { return "" })},
	{`alg "none" without a signature part (header.payload)`, func(f forger) (string, error) {
		tok, err := algNone("none", nil)(f)
		return strings.TrimSuffix(tok, "."), err
	}},
	{`alg "none" with the original signature left in place`, algNone("none", func(sig string) string { return sig })},
	{`alg "None"`, algNone("None", func(string) string { return "" })},
	{`alg "NONE"`, algNone("NONE", func(string) string { return "" })},
}

// algNone sets alg to none (spelled so) and keeps the claims; signature picks the signature
// part from the original's (nil: empty).
func algNone(spelling string, signature func(original string) string) func(f forger) (string, error) {
	return func(f forger) (string, error) {
		sig := ""
		if signature != nil {
			sig = signature(f.v.signature())
		}
		return b64.EncodeToString(f.v.headerWith(map[string]any{"alg": spelling})) + "." + b64.EncodeToString(f.v.claims) + "." + sig, nil
	}
}

// otherKeys: RS256 with a key that is not the IdP's, the claims unchanged but for the last,
// whose iss is the attacker's own issuer.
var otherKeys = []keylessForgery{
	{"a fresh key, under the IdP's own kid", func(f forger) (string, error) {
		return f.v.rsaToken(f.v.headerWith(map[string]any{"alg": "RS256"}), f.a.key), nil
	}},
	{"a fresh key, under a kid the IdP never published", func(f forger) (string, error) {
		return f.v.rsaToken(f.v.headerWith(map[string]any{"alg": "RS256", "kid": "mcpsso-unknown-" + randomHex(8)}), f.a.key), nil
	}},
	{"another issuer's key: a valid token of a loopback OpenID provider the deployment does not trust (its keys must not be fetched either)", func(f forger) (string, error) {
		claims, err := f.v.claimsWith(map[string]any{"iss": f.a.srv.URL})
		if err != nil {
			return "", err
		}
		return signRS256(f.v.headerWith(map[string]any{"alg": "RS256", "kid": "attacker"}), claims, f.a.key), nil
	}},
}

// changedClaims: the IdP's header and signature kept, one claim changed, so that only the
// signature can refuse the token (the claims are what a correct token for the deployment could
// carry).
var changedClaims = []keylessForgery{
	{"sub (another user's)", underOriginalSignature(func(f forger, c map[string]any) error {
		c["sub"] = f.victimSub
		return nil
	})},
	{"the tenant claim (every claim holding the user's tenant now holds another tenant)", underOriginalSignature(func(f forger, c map[string]any) error {
		if f.tenant == "" || replaceString(c, f.tenant, f.victimTenant) == 0 {
			return errNoTenantClaim
		}
		return nil
	})},
	{"aud (another resource added beside the deployment's own)", underOriginalSignature(func(_ forger, c map[string]any) error {
		var auds []any
		switch aud := c["aud"].(type) {
		case string:
			auds = []any{aud}
		case []any:
			auds = aud
		}
		c["aud"] = append(auds, "https://another-resource.mcpsso.invalid/mcp")
		return nil
	})},
	{"exp (a year later)", underOriginalSignature(func(_ forger, c map[string]any) error {
		exp := time.Now().Unix()
		if n, ok := c["exp"].(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				exp = v
			}
		}
		c["exp"] = exp + int64((365 * 24 * time.Hour).Seconds())
		return nil
	})},
}

// underOriginalSignature edits the claims with change and puts them between the original
// header and signature.
func underOriginalSignature(change func(f forger, c map[string]any) error) func(f forger) (string, error) {
	return func(f forger) (string, error) {
		c, err := f.v.claimMap()
		if err != nil {
			return "", err
		}
		if err := change(f, c); err != nil {
			return "", err
		}
		claims, err := json.Marshal(c)
		if err != nil {
			return "", err
		}
		parts := strings.Split(f.v.raw, ".")
		return parts[0] + "." + b64.EncodeToString(claims) + "." + parts[2], nil
	}
}

// stripped: the valid token with its signature taken off.
var stripped = []keylessForgery{
	{"header.payload. (the signature part empty)", func(f forger) (string, error) {
		return strings.TrimSuffix(f.v.raw, f.v.signature()), nil
	}},
	{"header.payload (no signature part)", func(f forger) (string, error) {
		return strings.TrimSuffix(f.v.raw, "."+f.v.signature()), nil
	}},
}

// replaceString replaces every string equal to from in v (objects and arrays, at any depth)
// with to, and says how many it replaced.
func replaceString(v any, from, to string) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && s == from {
				x[k] = to
				n++
			} else {
				n += replaceString(e, from, to)
			}
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok && s == from {
				x[i] = to
				n++
			} else {
				n += replaceString(e, from, to)
			}
		}
	}
	return n
}

// signature is the token's signature part.
func (v validToken) signature() string {
	return v.raw[strings.LastIndexByte(v.raw, '.')+1:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// victim is another user than me, for the claim changes: a mapped user of another tenant when
// the target has one (sub from their token, whose claims are read, not trusted), else another
// mapped user of the same tenant, else made-up values.
func victim(users []fw.User, me fw.User, subOf func(name string) (string, error)) (sub, tenant string, err error) {
	sub, tenant = "mcpsso-forged-subject", me.Tenant+"-forged"
	var pick *fw.User
	for i, u := range users {
		if u.Name == me.Name || u.Tenant == "" {
			continue
		}
		if pick == nil || (pick.Tenant == me.Tenant && u.Tenant != me.Tenant) {
			pick = &users[i]
		}
	}
	if pick == nil {
		return sub, tenant, nil
	}
	if pick.Tenant != me.Tenant {
		tenant = pick.Tenant
	}
	if sub, err = subOf(pick.Name); err != nil {
		return "", "", fmt.Errorf("the token of %s, whose sub the claim change puts in: %w", pick.Name, err)
	}
	return sub, tenant, nil
}
