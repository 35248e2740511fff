package mockidp

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Forgery names a bad token the negative scenarios present to an authorizer. Each is built
// from a valid access token for a real user with one thing wrong, so a verifier that rejects
// it can only be rejecting it for that one thing.
type Forgery int

// The forgeries. Those marked "signature-valid" carry a good signature from the IdP's
// active key: only claim checks beyond what OIDC libraries do (token type, sub, tenant
// pattern, size) catch them.
const (
	ForgeExpired             Forgery = iota + 1 // exp an hour ago
	ForgeNotYetValid                            // nbf and iat an hour ahead, beyond any leeway
	ForgeWrongIssuer                            // iss is the issuer plus "/evil" (catches prefix matching)
	ForgeWrongAudience                          // aud is api://another-service (client_id another-app-client where client_id proves the audience)
	ForgeAlgNone                                // alg none, empty signature
	ForgeHS256WithPublicKey                     // HMAC-SHA256 keyed with the public key's PEM
	ForgeUnknownKeyID                           // signed by a fresh key, with a kid not in the JWKS
	ForgeUntrustedKey                           // signed by a fresh key under the active key's kid
	ForgeTamperedPayload                        // payload edited (tenant globex) after signing
	ForgeMissingSubject                         // signature-valid; no sub claim
	ForgeIDToken                                // signature-valid ID token (token_use id where the profile has it) whose aud includes the API audience, if any
	ForgeRefreshToken                           // signature-valid refresh token (token_use refresh) with the API audience
	ForgeTenantWildcard                         // signature-valid; tenant "*"
	ForgeTenantPathTraversal                    // signature-valid; tenant "../globex"
	ForgeTenantWithSpaces                       // signature-valid; tenant "acme corp"
	ForgeTenantTooLong                          // signature-valid; tenant of 300 characters
	ForgeTenantNonASCII                         // signature-valid; tenant "acmé"
	ForgeOversized                              // signature-valid; over OversizedTokenBytes long
)

// OversizedTokenBytes is the length ForgeOversized exceeds: above API Gateway's 10 KB header
// limit and Node's 16 KiB default header limit.
const OversizedTokenBytes = 16 << 10

var forgeryNames = map[Forgery]string{
	ForgeExpired:             "expired",
	ForgeNotYetValid:         "not-yet-valid",
	ForgeWrongIssuer:         "wrong-issuer",
	ForgeWrongAudience:       "wrong-audience",
	ForgeAlgNone:             "alg-none",
	ForgeHS256WithPublicKey:  "hs256-with-public-key",
	ForgeUnknownKeyID:        "unknown-kid",
	ForgeUntrustedKey:        "untrusted-key",
	ForgeTamperedPayload:     "tampered-payload",
	ForgeMissingSubject:      "missing-sub",
	ForgeIDToken:             "id-token",
	ForgeRefreshToken:        "refresh-token",
	ForgeTenantWildcard:      "tenant-wildcard",
	ForgeTenantPathTraversal: "tenant-path-traversal",
	ForgeTenantWithSpaces:    "tenant-spaces",
	ForgeTenantTooLong:       "tenant-too-long",
	ForgeTenantNonASCII:      "tenant-non-ascii",
	ForgeOversized:           "oversized",
}

// String is the forgery's stable name (for labels and reports).
func (f Forgery) String() string {
	if n, ok := forgeryNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Forgery(%d)", int(f))
}

// SignatureValid reports whether the forged token carries a valid signature from a key in
// the JWKS, so that only claim checks can reject it.
func (f Forgery) SignatureValid() bool {
	switch f {
	case ForgeAlgNone, ForgeHS256WithPublicKey, ForgeUnknownKeyID, ForgeUntrustedKey, ForgeTamperedPayload:
		return false
	}
	return true
}

// Forgeries lists every forgery, in declaration order.
func Forgeries() []Forgery {
	out := make([]Forgery, 0, len(forgeryNames))
	for f := ForgeExpired; f <= ForgeOversized; f++ {
		out = append(out, f)
	}
	return out
}

// ParseForgery finds a forgery by its String name.
func ParseForgery(name string) (Forgery, error) {
	for f, n := range forgeryNames {
		if n == name {
			return f, nil
		}
	}
	names := make([]string, 0, len(forgeryNames))
	for _, f := range Forgeries() {
		names = append(names, f.String())
	}
	return 0, fmt.Errorf("mockidp: unknown forgery %q (known: %s)", name, strings.Join(names, ", "))
}

// Forge mints the bad token f for a user (by username, email or subject); opts shape the
// underlying valid access token as for TokenFor.
func (p *IdP) Forge(ctx context.Context, f Forgery, user string, opts ...TokenOption) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, ok := forgeryNames[f]; !ok {
		return "", fmt.Errorf("mockidp: Forge: unknown forgery %d", int(f))
	}
	s, err := p.specFor(user, opts)
	if err != nil {
		return "", err
	}
	now := p.cfg.now()
	claims := p.accessClaims(s, now)
	active := p.keys.active()
	header := jwsHeader{Alg: active.alg, Kid: active.kid}
	p.accessHeader(&header)
	tenant := func(v string) { claims[p.cfg.tenantClaim] = v }

	switch f {
	case ForgeExpired:
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case ForgeNotYetValid:
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(time.Hour).Unix(), now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
	case ForgeWrongIssuer:
		claims["iss"] = strings.TrimSuffix(p.issuer, "/") + "/evil"
	case ForgeWrongAudience:
		if p.profile.AudienceClaim == "aud" {
			claims["aud"] = "api://another-service"
		} else {
			// Where the client proves the audience (Cognito's client_id), another app client's.
			claims[p.profile.AudienceClaim] = "another-app-client"
		}
	case ForgeMissingSubject:
		delete(claims, "sub")
	case ForgeIDToken:
		claims = p.idClaims(s, nil, now)
		if p.cfg.audience != "" {
			claims["aud"] = []string{s.clientID, p.cfg.audience}
		}
		header.Typ, header.X5t = p.profile.IDTokenTyp, ""
	case ForgeRefreshToken:
		claims = p.refreshClaims(s, randomToken(), now.Add(p.cfg.refreshTTL), now)
		if p.cfg.audience != "" {
			claims["aud"] = p.cfg.audience
		}
		header.Typ, header.X5t = typJWT, ""
	case ForgeTenantWildcard:
		tenant("*")
	case ForgeTenantPathTraversal:
		tenant("../globex")
	case ForgeTenantWithSpaces:
		tenant("acme corp")
	case ForgeTenantTooLong:
		tenant(strings.Repeat("a", 300))
	case ForgeTenantNonASCII:
		tenant("acmé")
	case ForgeOversized:
		// base64url grows the payload by 4/3: this padding alone passes the limit.
		claims["pad"] = strings.Repeat("x", OversizedTokenBytes*3/4+64)
	}

	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	switch f {
	case ForgeAlgNone:
		h, _ := json.Marshal(jwsHeader{Alg: "none", Typ: header.Typ})
		return b64.EncodeToString(h) + "." + b64.EncodeToString(payload) + ".", nil
	case ForgeHS256WithPublicKey:
		secret, err := publicKeyPEM(active.priv.Public())
		if err != nil {
			return "", err
		}
		return signHS256(jwsHeader{Alg: "HS256", Kid: active.kid, Typ: header.Typ}, payload, secret)
	case ForgeUnknownKeyID, ForgeUntrustedKey:
		stranger, err := generateKey(active.alg)
		if err != nil {
			return "", err
		}
		if f == ForgeUnknownKeyID {
			header.Kid = "forged-" + randomHex(8)
		}
		return signJWS(header, payload, stranger)
	case ForgeTamperedPayload:
		signed, err := signJWS(header, payload, active.priv)
		if err != nil {
			return "", err
		}
		edited := maps.Clone(claims)
		edited[p.cfg.tenantClaim] = "globex"
		if s.user.Tenant == "globex" {
			edited[p.cfg.tenantClaim] = "acme"
		}
		editedPayload, err := json.Marshal(edited)
		if err != nil {
			return "", err
		}
		parts := strings.Split(signed, ".")
		return parts[0] + "." + b64.EncodeToString(editedPayload) + "." + parts[2], nil
	}
	return signJWS(header, payload, active.priv)
}
