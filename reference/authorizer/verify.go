package authorizer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TokenType says how an access token is told apart from ID and refresh tokens signed by the
// same IdP with the same audience. At least one of Header and Claim must be set.
type TokenType struct {
	// Header is the required JWS "typ" header, compared case-insensitively with or without
	// "application/" (RFC 9068 §2.1: "at+jwt"); "" skips the header check.
	Header string
	// Claim names a claim that marks access tokens ("" skips the claim check). With Values,
	// the claim must be one of them (or, for a list claim, contain one of them); without, it
	// need only be present (Okta's "scp", Auth0's "gty"...).
	Claim  string
	Values []string
}

// DefaultTokenType is what the mock IdP issues: typ at+jwt and token_use "access" (Cognito's
// marker claim). For Cognito use {Claim: "token_use", Values: ["access"]}; for Okta
// {Claim: "scp"}; for an RFC 9068 IdP {Header: "at+jwt"}.
var DefaultTokenType = TokenType{Header: "at+jwt", Claim: "token_use", Values: []string{"access"}}

func (t TokenType) validate() error {
	if t.Header == "" && t.Claim == "" {
		return errors.New("token type: set Header, Claim or both; an authorizer that cannot tell access tokens from ID and refresh tokens accepts them all")
	}
	if t.Header != "" && strings.ContainsFunc(t.Header, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("token type: Header %s must be a media type without spaces", quote(t.Header))
	}
	if t.Claim == "" && len(t.Values) > 0 {
		return errors.New("token type: Values need a Claim")
	}
	return nil
}

// notBeforeLeeway is go-oidc's fixed leeway for nbf; iat gets the same.
const notBeforeLeeway = 5 * time.Minute

// tokenVerifier is go-oidc's verifier (signature with a fixed algorithm list, exact issuer,
// audience, required exp, nbf) plus what go-oidc leaves out: the size bound, the token-type
// marker, a required and well-formed sub, iat, and the claims the authorizer forwards.
type tokenVerifier struct {
	oidc        *oidc.IDTokenVerifier
	issuer      string
	audiences   []string
	algs        []string
	now         func() time.Time
	maxBytes    int
	typ         TokenType
	tenantClaim string
	emailClaim  string
	// readScopes: the token's granted scopes are read (the authorizer requires some).
	readScopes bool
	cache      *tokenCache // nil: verify every time
	keys       *keySet     // for the cache: a hit counts only while its key is still published
}

// verifiedToken is what a valid access token says.
type verifiedToken struct {
	sub, email, tenant string
	scopes             []string // read only when some are required
	agent              *Agent
	expiry             time.Time
	kid                string // of the key that verified it
}

func (v *tokenVerifier) verify(ctx context.Context, raw string) (verifiedToken, *denial) {
	if len(raw) > v.maxBytes {
		return verifiedToken{}, deny(ReasonTokenTooLarge, "the token is %d bytes; at most %d are accepted", len(raw), v.maxBytes)
	}
	var key [sha256.Size]byte
	if v.cache != nil {
		key = sha256.Sum256([]byte(raw))
		// A key the IdP withdrew (no longer in the last fetched JWKS) stops verifying at once,
		// cached tokens included.
		if tok, ok := v.cache.get(key, v.now()); ok && (v.keys == nil || v.keys.holds(tok.kid)) {
			return tok, nil
		}
	}
	p := &probe{}
	tok, err := v.oidc.Verify(withProbe(ctx, p), raw)
	if err != nil {
		return verifiedToken{}, v.classify(raw, p, err)
	}
	var c claimSet
	if err := tok.Claims(&c); err != nil {
		return verifiedToken{}, deny(ReasonMalformedToken, "the token's payload is not a JSON object")
	}
	out, dn := v.checkClaims(p.typ, c)
	if dn != nil {
		return verifiedToken{}, dn
	}
	out.expiry, out.kid = tok.Expiry, p.kid
	if v.cache != nil {
		v.cache.put(key, out, v.now())
	}
	return out, nil
}

// checkAudience wants at least one of the token's audiences among the accepted ones; a token
// without aud is refused too.
func (v *tokenVerifier) checkAudience(c claimSet) *denial {
	for _, aud := range c.audiences() {
		if slices.Contains(v.audiences, aud) {
			return nil
		}
	}
	if len(c.audiences()) == 0 {
		return deny(ReasonWrongAudience, "the token has no aud; it must be for one of %s", quote(strings.Join(v.audiences, ", ")))
	}
	return deny(ReasonWrongAudience, "aud %s is none of the accepted audiences %s", quote(strings.Join(c.audiences(), " ")), quote(strings.Join(v.audiences, ", ")))
}

// checkClaims applies every check beyond go-oidc's to a verified token's header typ and
// claims, and extracts what the authorizer forwards.
func (v *tokenVerifier) checkClaims(typ string, c claimSet) (verifiedToken, *denial) {
	if dn := v.checkAudience(c); dn != nil {
		return verifiedToken{}, dn
	}
	if dn := v.checkType(typ, c); dn != nil {
		return verifiedToken{}, dn
	}
	sub, _, err := c.str("sub")
	if err != nil {
		return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
	}
	if sub == "" {
		return verifiedToken{}, deny(ReasonMissingSubject, "the token has no sub claim; a subject is required to map the user")
	}
	if err := checkSubject(sub); err != nil {
		return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
	}
	iat, _, err := c.num("iat")
	if err != nil {
		return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
	}
	if now := v.now(); iat > 0 && unixTime(iat).After(now.Add(notBeforeLeeway)) {
		return verifiedToken{}, deny(ReasonTokenNotYetValid, "the token was issued at %s, after now (%s) plus the %s leeway",
			unixTime(iat).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), notBeforeLeeway)
	}
	out := verifiedToken{sub: sub}
	email, ok, err := c.str(v.emailClaim)
	if err == nil && ok {
		err = checkEmail(email)
	}
	if err != nil {
		return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
	}
	out.email = email
	tenant, ok, err := c.str(v.tenantClaim)
	if err == nil && ok {
		err = checkTenantClaim(v.tenantClaim, tenant)
	}
	if err != nil {
		return verifiedToken{}, deny(ReasonUnsafeTenant, "%v", err)
	}
	out.tenant = tenant
	if out.agent, err = agentClaims(c); err != nil {
		return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
	}
	if v.readScopes {
		if out.scopes, err = c.scopes(); err != nil {
			return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
		}
	}
	return out, nil
}

// checkType applies the token-type marker.
func (v *tokenVerifier) checkType(typ string, c claimSet) *denial {
	if want := v.typ.Header; want != "" && !sameMediaType(typ, want) {
		return deny(ReasonWrongTokenType, "the token's typ header is %s, not %s: it is not an access token (RFC 9068 §2.1)", quote(typ), quote(want))
	}
	if v.typ.Claim == "" {
		return nil
	}
	raw, ok := c[v.typ.Claim]
	if !ok || string(raw) == "null" {
		return deny(ReasonWrongTokenType, "the token has no %s claim, which marks access tokens", quote(v.typ.Claim))
	}
	if len(v.typ.Values) == 0 {
		return nil
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(raw, &one) == nil:
		many = []string{one}
	case json.Unmarshal(raw, &many) == nil:
	default:
		return deny(ReasonWrongTokenType, "claim %s must be a string or a list of strings", quote(v.typ.Claim))
	}
	for _, m := range many {
		if slices.Contains(v.typ.Values, m) {
			return nil
		}
	}
	return deny(ReasonWrongTokenType, "claim %s is %s, not %s: it is not an access token", quote(v.typ.Claim), quote(strings.Join(many, " ")), quote(strings.Join(v.typ.Values, " or ")))
}

// sameMediaType compares typ values as RFC 7515 §4.1.9 says: case-insensitively, with the
// "application/" prefix optional.
func sameMediaType(a, b string) bool {
	trim := func(s string) string {
		s = strings.ToLower(s)
		return strings.TrimPrefix(s, "application/")
	}
	return trim(a) == trim(b)
}

// classify turns a go-oidc failure into a reason. go-oidc's errors do not wrap their causes,
// so the probe says how far verification got, and the claims go-oidc checks after the
// signature are checked again here, on the verified payload, to name the one that failed.
func (v *tokenVerifier) classify(raw string, p *probe, err error) *denial {
	if p.unavailable != nil {
		return &denial{reason: ReasonIdPUnavailable, detail: "the IdP's keys could not be fetched: " + p.unavailable.Error(), err: p.unavailable}
	}
	if !p.verified {
		if p.keyErr != nil {
			return deny(ReasonInvalidSignature, "%v", p.keyErr)
		}
		alg, ok := unverifiedAlg(raw)
		switch {
		case !ok:
			return deny(ReasonMalformedToken, "the token is not a compact JWS (three base64url parts: header.payload.signature, with a JSON header naming alg)")
		case !slices.Contains(v.algs, alg):
			return deny(ReasonInvalidSignature, "the token's algorithm %s is not allowed (allowed: %s)", quote(alg), strings.Join(v.algs, ", "))
		}
		return deny(ReasonMalformedToken, "the token could not be parsed as a JWS: %s", shorten(err.Error()))
	}
	var c claimSet
	if json.Unmarshal(p.payload, &c) != nil {
		return deny(ReasonMalformedToken, "the token's payload is not a JSON object")
	}
	if iss, _, _ := c.str("iss"); iss != v.issuer {
		return deny(ReasonWrongIssuer, "iss %s is not the issuer %s (compared exactly)", quote(iss), quote(v.issuer))
	}
	if dn := v.checkAudience(c); dn != nil {
		return dn
	}
	now := v.now()
	exp, ok, cerr := c.num("exp")
	switch {
	case cerr != nil:
		return deny(ReasonInvalidClaim, "%v", cerr)
	case !ok:
		return deny(ReasonInvalidClaim, "the token has no exp claim; an expiry is required")
	case unixTime(exp).Before(now):
		return deny(ReasonTokenExpired, "the token expired at %s (now %s)", unixTime(exp).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	nbf, _, cerr := c.num("nbf")
	switch {
	case cerr != nil:
		return deny(ReasonInvalidClaim, "%v", cerr)
	case nbf > 0 && unixTime(nbf).After(now.Add(notBeforeLeeway)):
		return deny(ReasonTokenNotYetValid, "the token is not valid before %s (now %s, leeway %s)", unixTime(nbf).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), notBeforeLeeway)
	}
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return deny(ReasonTokenExpired, "the token expired at %s", expired.Expiry.UTC().Format(time.RFC3339))
	}
	// go-oidc could not read a registered claim it needs (for example aud of the wrong type).
	return deny(ReasonInvalidClaim, "a registered claim is malformed: %s", shorten(err.Error()))
}

// unverifiedAlg reads the alg of a compact JWS header without trusting it, to explain why the
// token was refused.
func unverifiedAlg(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg == "" {
		return "", false
	}
	return h.Alg, true
}

// unixTime converts a NumericDate, clamped to years 1970-9999 so that absurd values cannot
// overflow.
func unixTime(secs float64) time.Time {
	const maxSecs = 253402300799 // 9999-12-31T23:59:59Z
	secs = min(max(secs, 0), maxSecs)
	whole := int64(secs)
	return time.Unix(whole, int64((secs-float64(whole))*1e9))
}

// shorten bounds a library's error message in a detail.
func shorten(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
