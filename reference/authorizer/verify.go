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
	// readScopes: the token's granted scopes are read (the authorizer requires some), by
	// scopesOf from the preset's scope claim.
	readScopes bool
	scopesOf   func(c claimSet, claim string) ([]string, error)
	cache      *tokenCache // nil: verify every time
	keys       *keySet     // for the cache: a hit counts only while its key is still published
	preset     Preset
	clientIDs  []string // nil: any client
	skipped    checkSet // always empty outside tests
}

// checkSet names checks a test can turn off (export_test.go), each alone, to prove that a
// spec catches an authorizer without it. No option sets one.
type checkSet uint

const (
	// checkAudienceRequired refuses a token without aud where aud proves the audience.
	checkAudienceRequired checkSet = 1 << iota
	// checkTypeClaim applies the access-token marker claim (Cognito's token_use).
	checkTypeClaim
	// checkClientID applies WithClientIDs to the preset's client claim (Cognito's client_id).
	checkClientID
	// checkIssuerForm makes New refuse an issuer without the preset's form (Auth0's slash).
	checkIssuerForm
	// checkVersion applies the preset's ver (Entra ID v1 or v2).
	checkVersion
)

func (s checkSet) has(c checkSet) bool { return s&c != 0 }

// verifiedToken is what a valid access token says.
type verifiedToken struct {
	sub, email, tenant string
	sourceIdentity     string   // SourceIdentity(sub), derived once per token
	scopes             []string // read only when some are required
	agent              *Agent
	expiry             time.Time
	kid                string // of the key that verified it
}

func (v *tokenVerifier) verify(ctx context.Context, raw string) (verifiedToken, *denial) {
	tok, key, hit := v.cached(raw)
	if hit {
		return tok, nil
	}
	return v.verifyUncached(ctx, raw, key, false)
}

// tokenKey is a token's cache key: the SHA-256 of the SHA-256 of its signing input (the text
// before its last dot) followed by the rest (the dot and the signature). Two tokens share a
// key only if SHA-256 collides. The inner digest is the one RS256, PS256 and ES256 verify, so
// a token is hashed once whether the lookup hits or not.
type tokenKey struct {
	ok         bool // false: the token is not looked up (no cache, too large, no dot)
	key, input [sha256.Size]byte
}

// cached looks the token up in the cache and returns its key for verifyUncached on a miss.
// A key the IdP withdrew (no longer in the last fetched JWKS) stops verifying at once, cached
// tokens included.
func (v *tokenVerifier) cached(raw string) (verifiedToken, tokenKey, bool) {
	var k tokenKey
	dot := strings.LastIndexByte(raw, '.')
	if v.cache == nil || len(raw) > v.maxBytes || dot < 0 {
		return verifiedToken{}, k, false
	}
	k.ok = true
	k.input = sum256(nil, raw[:dot])
	k.key = sum256(k.input[:], raw[dot:])
	if tok, ok := v.cache.get(k.key, v.now()); ok && (v.keys == nil || v.keys.holds(tok.kid)) {
		return tok, k, true
	}
	return verifiedToken{}, k, false
}

// verifyUncached verifies a token the cache did not hold, and caches it when it verifies
// and is an RFC 6750 b64token. With syntax, a token that is not a b64token is refused first
// (Authorizer.decide checks the b64token syntax only on a miss, which is sound because
// nothing else enters the cache). A token parseCompact takes is one already: three parts of
// the base64url alphabet, without padding, joined by dots; only other tokens are scanned.
func (v *tokenVerifier) verifyUncached(ctx context.Context, raw string, key tokenKey, syntax bool) (verifiedToken, *denial) {
	if len(raw) > v.maxBytes {
		if syntax {
			if dn := checkB64Token(raw); dn != nil {
				return verifiedToken{}, dn
			}
		}
		return verifiedToken{}, deny(ReasonTokenTooLarge, "the token is %d bytes; at most %d are accepted", len(raw), v.maxBytes)
	}
	t, compact := parseCompact(raw)
	if !compact && syntax {
		if dn := checkB64Token(raw); dn != nil {
			return verifiedToken{}, dn
		}
	}
	var out verifiedToken
	var dn *denial
	if compact && slices.Contains(v.algs, t.alg) {
		t.inputSum, t.summed = key.input, key.ok
		out, dn = v.verifyCompact(ctx, raw, &t)
	}
	t.release() // out holds copies: nothing reads the decoded parts any more
	if !compact || !slices.Contains(v.algs, t.alg) {
		out, dn = v.verifyGeneral(ctx, raw)
	}
	if dn != nil {
		return verifiedToken{}, dn
	}
	if v.cache != nil && key.ok && (compact || checkB64Token(raw) == nil) {
		v.cache.put(key.key, out, v.now())
	}
	return out, nil
}

// verifyCompact verifies a token of the shape IdPs issue (parseCompact) with the standard
// library: the header, payload and signature decoded once, the signature checked with the
// JWKS key, go-oidc's checks and ours applied to one decoding of the claims. It decides as
// verifyGeneral does, deny details included (the differential tests hold it to that).
func (v *tokenVerifier) verifyCompact(ctx context.Context, raw string, t *compactJWS) (verifiedToken, *denial) {
	p := &probe{typ: t.typ}
	payload, err := v.keys.verifyCompact(ctx, p, t)
	if err != nil {
		return verifiedToken{}, v.classify(raw, p, err)
	}
	// One decoding of the claims serves go-oidc's checks and ours, unless the payload has a
	// shape only a decoding as go-oidc does can judge exactly.
	c, plain, cerr := decodeClaims(payload)
	defer releaseClaims(c) // the verified token keeps copies of the values it reads
	expiry, err, ok := claimsChecks(payload, c, plain, v.issuer, v.now())
	if !ok || cerr != nil {
		expiry, err = oidcChecks(payload, v.issuer, v.now())
	}
	if err != nil {
		return verifiedToken{}, v.classify(raw, p, err)
	}
	if cerr != nil {
		return verifiedToken{}, deny(ReasonMalformedToken, "the token's payload is not a JSON object")
	}
	out, dn := v.checkClaims(p.typ, c)
	if dn != nil {
		return verifiedToken{}, dn
	}
	out.expiry, out.kid = expiry, p.kid
	return out, nil
}

// verifyGeneral verifies any other token through go-oidc, whose verifier parses it with
// go-jose and asks the keySet for the signature.
func (v *tokenVerifier) verifyGeneral(ctx context.Context, raw string) (verifiedToken, *denial) {
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
	return out, nil
}

// checkAudience applies the preset's proof of audience. With aud (every IdP but Cognito), at
// least one of the token's audiences must be accepted and a token without aud is refused: an
// authorizer that checks aud "when present" takes tokens minted for anything. With client_id
// (Cognito, whose access tokens have no aud unless a resource was requested), the client must
// be one of WithClientIDs, and an aud, when present, must still be accepted.
func (v *tokenVerifier) checkAudience(c claimSet) *denial {
	// The common case, one accepted audience as a plain string, without building the list.
	if raw := c["aud"]; len(raw) > 2 && plainJSONString(raw) {
		for _, a := range v.audiences {
			if a == string(raw[1:len(raw)-1]) {
				return v.checkClient(c)
			}
		}
	}
	auds := c.audiences()
	accepted := slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(v.audiences, a) })
	switch {
	case accepted:
	case v.preset.AudienceClaim == AudienceFromClientID && len(auds) == 0:
	case v.preset.AudienceClaim == AudienceFromClientID:
		return deny(ReasonWrongAudience, "aud %s (the resource the client asked for) is none of the accepted audiences %s", quote(strings.Join(auds, " ")), quote(strings.Join(v.audiences, ", ")))
	case len(auds) == 0 && v.skipped.has(checkAudienceRequired):
	case len(auds) == 0:
		return deny(ReasonWrongAudience, "the token has no aud; it must be for one of %s", quote(strings.Join(v.audiences, ", ")))
	default:
		return deny(ReasonWrongAudience, "aud %s is none of the accepted audiences %s", quote(strings.Join(auds, " ")), quote(strings.Join(v.audiences, ", ")))
	}
	return v.checkClient(c)
}

// checkClient applies WithClientIDs to the preset's client claim.
func (v *tokenVerifier) checkClient(c claimSet) *denial {
	if len(v.clientIDs) == 0 || v.skipped.has(checkClientID) {
		return nil
	}
	name := v.preset.ClientClaim
	id, ok, err := c.str(name)
	switch {
	case err != nil:
		return deny(ReasonInvalidClaim, "%v", err)
	case !ok:
		return deny(ReasonWrongAudience, "the token has no %s claim, which names the app client it was issued to; it must be one of %s", quote(name), quote(strings.Join(v.clientIDs, ", ")))
	case !slices.Contains(v.clientIDs, id):
		return deny(ReasonWrongAudience, "%s %s is none of the accepted app clients %s: the token was issued to another client", name, quote(id), quote(strings.Join(v.clientIDs, ", ")))
	}
	return nil
}

// checkVersion applies the preset's ver: Entra ID issues an API v1 or v2 tokens as the API's
// accessTokenAcceptedVersion says, and the two differ in issuer and audience.
func (v *tokenVerifier) checkVersion(c claimSet) *denial {
	want := v.preset.Version
	if want == "" || v.skipped.has(checkVersion) {
		return nil
	}
	ver, ok, err := c.str("ver")
	switch {
	case err != nil:
		return deny(ReasonInvalidClaim, "%v", err)
	case !ok:
		return deny(ReasonWrongTokenType, "the token has no ver claim; the %s preset accepts ver %s tokens only", v.preset.Name, quote(want))
	case ver != want:
		return deny(ReasonWrongTokenType, "ver %s: the %s preset accepts ver %s tokens only (issuer %s). An Entra ID API's tokens have the version of its accessTokenAcceptedVersion, whatever endpoint issued them: change it in the app registration's manifest, or configure the preset of that version",
			quote(ver), v.preset.Name, quote(want), quoteUpTo(v.issuer, maxURLShown))
	}
	return nil
}

// issuerDenial explains an iss that is not the configured issuer, naming both forms.
func (v *tokenVerifier) issuerDenial(iss string) *denial {
	if strings.TrimSuffix(iss, "/") == strings.TrimSuffix(v.issuer, "/") {
		return deny(ReasonWrongIssuer, "iss %s differs from the configured issuer %s only in the trailing slash: issuers are compared exactly (OpenID Connect Core §3.1.3.7), so configure the form the IdP's tokens carry",
			quoteUpTo(iss, maxURLShown), quoteUpTo(v.issuer, maxURLShown))
	}
	return deny(ReasonWrongIssuer, "iss %s is not the issuer %s (compared exactly)", quoteUpTo(iss, maxURLShown), quoteUpTo(v.issuer, maxURLShown))
}

// checkClaims applies every check beyond go-oidc's to a verified token's header typ and
// claims, and extracts what the authorizer forwards.
func (v *tokenVerifier) checkClaims(typ string, c claimSet) (verifiedToken, *denial) {
	// The token's kind first (its version, then access token or not), so that an ID token is
	// refused as one rather than for the audience it names differently.
	if dn := v.checkVersion(c); dn != nil {
		return verifiedToken{}, dn
	}
	if dn := v.checkType(typ, c); dn != nil {
		return verifiedToken{}, dn
	}
	if dn := v.checkAudience(c); dn != nil {
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
	out := verifiedToken{sub: sub, sourceIdentity: SourceIdentity(sub)}
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
		if out.scopes, err = v.scopesOf(c, v.preset.ScopeClaim); err != nil {
			return verifiedToken{}, deny(ReasonInvalidClaim, "%v", err)
		}
	}
	return out, nil
}

// checkType applies the token-type marker: the typ header, the marker claim, and the scope
// claim where the preset needs it too.
func (v *tokenVerifier) checkType(typ string, c claimSet) *denial {
	if want := v.typ.Header; want != "" && !sameMediaType(typ, want) {
		return deny(ReasonWrongTokenType, "the token's typ header is %s, not %s: it is not an access token (RFC 9068 §2.1)", quote(typ), quote(want))
	}
	if v.skipped.has(checkTypeClaim) {
		return nil
	}
	if dn := v.checkMarkerClaim(c); dn != nil {
		return dn
	}
	if v.preset.ScopeMarks {
		if raw, ok := c[v.preset.ScopeClaim]; !ok || string(raw) == "null" {
			return deny(ReasonWrongTokenType, "the token has no %s claim, which %s access tokens carry and ID tokens do not", quote(v.preset.ScopeClaim), v.preset.Name)
		}
	}
	return nil
}

// checkMarkerClaim applies TokenType's marker claim.
func (v *tokenVerifier) checkMarkerClaim(c claimSet) *denial {
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
	var many []string
	if plainJSONString(raw) {
		for _, want := range v.typ.Values { // compared without a copy of the claim
			if want == string(raw[1:len(raw)-1]) {
				return nil
			}
		}
		many = []string{string(raw[1 : len(raw)-1])}
	} else if many, ok = stringOrList(raw); !ok {
		return deny(ReasonWrongTokenType, "claim %s must be a string or a list of strings", quote(v.typ.Claim))
	}
	for _, m := range many {
		if slices.Contains(v.typ.Values, m) {
			return nil
		}
	}
	return deny(ReasonWrongTokenType, "claim %s is %s, not %s: it is not an access token", quote(v.typ.Claim), quote(strings.Join(many, " ")), quote(strings.Join(v.typ.Values, " or ")))
}

// stringOrList reads a JSON string as a list of one, or a list of strings.
func stringOrList(raw []byte) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, true
	}
	return nil, false
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
		case !ok && strings.Count(raw, ".") != 2:
			return deny(ReasonMalformedToken, "%s", opaqueDetail(raw, v.preset))
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
	// An Entra ID token of the other version has the other issuer too: name the version,
	// which is what the operator has to change.
	if dn := v.checkVersion(c); dn != nil {
		return dn
	}
	if iss, _, _ := c.str("iss"); iss != v.issuer {
		return v.issuerDenial(iss)
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
