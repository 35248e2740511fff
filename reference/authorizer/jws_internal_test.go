package authorizer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The differential tests hold the standard-library path (verifyCompact) to go-oidc and
// go-jose (verifyGeneral): on every token both decide alike, the verified claims or the
// deny's reason and detail.

type diffKeys struct {
	rsa, attacker *rsa.PrivateKey
	ec            *ecdsa.PrivateKey
}

var testKeys = sync.OnceValue(func() diffKeys {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return diffKeys{rsa: r, attacker: a, ec: e}
})

const diffIssuer = "https://idp.example.test/tenant"

var diffNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// diffVerifier is a verifier without the token cache, its JWKS (kids rsa1 and ec1) served on
// loopback.
func diffVerifier(t testing.TB, opts ...Option) *tokenVerifier {
	t.Helper()
	return diffAuthorizer(t, opts...).verifier
}

// diffAuthorizer is the Authorizer of diffVerifier.
func diffAuthorizer(t testing.TB, opts ...Option) *Authorizer {
	t.Helper()
	k := testKeys()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa.PublicKey, KeyID: "rsa1", Use: "sig"},
		{Key: &k.ec.PublicKey, KeyID: "ec1", Use: "sig"},
	}}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(srv.Close)
	store, err := NewStaticStore(StoreEntry{Sub: "alice", Mapping: Mapping{RoleARN: "arn:aws:iam::123456789012:role/mcp-user"}})
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithIssuer(diffIssuer), WithJWKSURL(srv.URL), WithAudience("api"), WithoutTokenCache(),
		WithClock(func() time.Time { return diffNow }), WithRoleStore(store), WithLogger(slog.New(slog.DiscardHandler)), WithAlgorithms("RS256", "PS256", "ES256")}, opts...)
	a, err := New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// sign makes a compact JWS of header and payload, signed as alg says with key ("rsa",
// "attacker", "ec", "hmac" with the RSA public modulus as the secret, "none").
func sign(t testing.TB, header, payload, alg, key string) string {
	t.Helper()
	k := testKeys()
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch key {
	case "rsa", "attacker":
		priv := k.rsa
		if key == "attacker" {
			priv = k.attacker
		}
		if alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, priv, crypto.SHA256, digest[:], nil)
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest[:])
		}
	case "ec":
		var r, s interface{ FillBytes([]byte) []byte }
		r, s, err = ecdsa.Sign(rand.Reader, k.ec, digest[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "hmac":
		m := hmac.New(sha256.New, k.rsa.N.Bytes())
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// claims is a valid access token's payload with changes: a nil value removes the claim.
func claims(changes map[string]any) string {
	c := map[string]any{"iss": diffIssuer, "sub": "alice", "aud": "api", "exp": diffNow.Add(time.Hour).Unix(),
		"iat": diffNow.Unix(), "token_use": "access", "tenant": "acme", "email": "alice@example.com"}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// agree verifies raw both ways and fails the test where they differ. It reports whether the
// standard-library path took the token, and the decision.
func agree(t testing.TB, v *tokenVerifier, raw string) (fast bool, tok verifiedToken, dn *denial) {
	t.Helper()
	ctx := context.Background()
	if len(raw) > v.maxBytes {
		_, dn := v.verify(ctx, raw)
		if dn == nil || dn.reason != ReasonTokenTooLarge {
			t.Errorf("a token of %d bytes: %v, want %s", len(raw), dn, ReasonTokenTooLarge)
		}
		return false, verifiedToken{}, dn
	}
	gen, gdn := v.verifyGeneral(ctx, raw)
	got, dn := v.verify(ctx, raw)
	jws, ok := parseCompact(raw)
	fast = ok && strings.Contains(strings.Join(v.algs, " "), jws.alg)
	if fast {
		got, dn = v.verifyCompact(ctx, raw, &jws)
	}
	switch {
	case (dn == nil) != (gdn == nil):
		t.Errorf("token %.80s…: the new path denies %v, go-oidc's %v", raw, dn, gdn)
	case dn == nil && !reflect.DeepEqual(got, gen):
		t.Errorf("token %.80s…: the new path verified %+v, go-oidc's %+v", raw, got, gen)
	case dn != nil && (dn.reason != gdn.reason || dn.detail != gdn.detail || (dn.err == nil) != (gdn.err == nil)):
		t.Errorf("token %.80s…: the new path denies %s (%s), go-oidc's %s (%s)", raw, dn.reason, dn.detail, gdn.reason, gdn.detail)
	}
	return fast, got, dn
}

func TestTheStandardLibraryPathDecidesAsGoOIDC(t *testing.T) {
	v := diffVerifier(t)
	const hRS = `{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`
	valid := claims(nil)
	canonical := sign(t, hRS, valid, "RS256", "rsa")
	hdr, body, _ := strings.Cut(canonical, ".")
	body, sig, _ := strings.Cut(body, ".")
	flipped := []byte(sig)
	flipped[10] = map[bool]byte{true: 'A', false: 'B'}[flipped[10] != 'A']
	for _, tc := range []struct {
		name   string
		token  string
		allow  bool
		fast   bool   // taken by the standard-library path
		reason Reason // of the deny
	}{
		{"RS256", canonical, true, true, ""},
		{"PS256", sign(t, `{"alg":"PS256","kid":"rsa1","typ":"at+jwt"}`, valid, "PS256", "rsa"), true, true, ""},
		{"ES256", sign(t, `{"alg":"ES256","kid":"ec1","typ":"at+jwt"}`, valid, "ES256", "ec"), true, true, ""},
		{"no kid", sign(t, `{"alg":"RS256","typ":"at+jwt"}`, valid, "RS256", "rsa"), true, true, ""},
		{"header members reordered and spaced", sign(t, " {\"typ\" : \"application/at+jwt\",\n\"kid\":\"rsa1\", \"alg\":\"RS256\"} ", valid, "RS256", "rsa"), true, true, ""},
		{"kid escaped", sign(t, `{"alg":"RS256","kid":"\u0072sa1","typ":"at+jwt"}`, valid, "RS256", "rsa"), true, false, ""},
		{"alg none", sign(t, `{"alg":"none","typ":"at+jwt"}`, valid, "none", "none"), false, false, ReasonInvalidSignature},
		{"HS256 with the public key as secret", sign(t, `{"alg":"HS256","kid":"rsa1","typ":"at+jwt"}`, valid, "HS256", "hmac"), false, false, ReasonInvalidSignature},
		{"RS384 not allowed", sign(t, `{"alg":"RS384","kid":"rsa1","typ":"at+jwt"}`, valid, "RS256", "rsa"), false, false, ReasonInvalidSignature},
		{"another key", sign(t, hRS, valid, "RS256", "attacker"), false, true, ReasonInvalidSignature},
		{"ES256 header on the RSA key", sign(t, `{"alg":"ES256","kid":"rsa1","typ":"at+jwt"}`, valid, "ES256", "ec"), false, true, ReasonInvalidSignature},
		{"unknown kid", sign(t, `{"alg":"RS256","kid":"rsa9","typ":"at+jwt"}`, valid, "RS256", "rsa"), false, true, ReasonInvalidSignature},
		{"signature flipped", hdr + "." + body + "." + string(flipped), false, true, ReasonInvalidSignature},
		{"signature cut", hdr + "." + body + "." + sig[:40], false, true, ReasonInvalidSignature},
		{"signature padded", canonical + "==", false, false, ReasonMalformedToken},
		{"payload swapped", hdr + "." + b64(claims(map[string]any{"sub": "bob"})) + "." + sig, false, true, ReasonInvalidSignature},
		{"two parts", hdr + "." + body, false, false, ReasonMalformedToken},
		{"four parts", canonical + ".x", false, false, ReasonMalformedToken},
		{"opaque", "opaque-token", false, false, ReasonMalformedToken},
		{"header not JSON", b64("alg") + "." + body + "." + sig, false, false, ReasonMalformedToken},
		{"crit exp", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":["exp"],"exp":1}`, valid, "RS256", "rsa"), false, false, ReasonInvalidSignature},
		{"crit b64", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":["b64"],"b64":false}`, valid, "RS256", "rsa"), false, false, ""},
		{"Entra's x5t beside the kid", sign(t, `{"typ":"at+jwt","alg":"RS256","x5t":"i6lGk3FZzxRcUb2C3nEQ7syHJlY","kid":"rsa1"}`, valid, "RS256", "rsa"), true, true, ""},
		{"x5t#S256", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5t#S256":"abc"}`, valid, "RS256", "rsa"), true, true, ""},
		{"x5t without a kid", sign(t, `{"alg":"RS256","x5t":"rsa1","typ":"at+jwt"}`, valid, "RS256", "rsa"), true, true, ""},
		{"x5t twice", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5t":"a","x5t":"b"}`, valid, "RS256", "rsa"), false, false, ReasonMalformedToken},
		{"x5t a number", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5t":1}`, valid, "RS256", "rsa"), true, false, ""},
		{"x5t escaped", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5t":"\u0061"}`, valid, "RS256", "rsa"), true, false, ""},
		{"x5t on another key's token", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5t":"rsa1"}`, valid, "RS256", "attacker"), false, true, ReasonInvalidSignature},
		{"jku ignored", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","jku":"https://evil.test/jwks"}`, valid, "RS256", "rsa"), true, false, ""},
		{"x5u ignored", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5u":"https://evil.test/cert"}`, valid, "RS256", "rsa"), true, false, ""},
		{"embedded jwk not trusted", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"at+jwt","jwk":`+jwkOf(t, &testKeys().attacker.PublicKey)+`}`, valid, "RS256", "attacker"), false, false, ReasonInvalidSignature},
		{"alg twice", sign(t, `{"alg":"none","alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, valid, "RS256", "rsa"), false, false, ReasonMalformedToken},
		{"ALG upper case", sign(t, `{"ALG":"RS256","kid":"rsa1","typ":"at+jwt"}`, valid, "RS256", "rsa"), false, false, ReasonMalformedToken},
		{"typ JWT", sign(t, `{"alg":"RS256","kid":"rsa1","typ":"JWT"}`, valid, "RS256", "rsa"), false, true, ReasonWrongTokenType},
		{"no typ", sign(t, `{"alg":"RS256","kid":"rsa1"}`, valid, "RS256", "rsa"), false, true, ReasonWrongTokenType},
		{"typ a number", sign(t, `{"alg":"RS256","kid":"rsa1","typ":1}`, valid, "RS256", "rsa"), false, false, ReasonWrongTokenType},
		{"expired", sign(t, hRS, claims(map[string]any{"exp": diffNow.Add(-time.Second).Unix()}), "RS256", "rsa"), false, true, ReasonTokenExpired},
		{"exp fractional, now", sign(t, hRS, claims(map[string]any{"exp": float64(diffNow.Unix()) + 0.5}), "RS256", "rsa"), true, true, ""},
		{"exp a string", sign(t, hRS, claims(map[string]any{"exp": fmt.Sprint(diffNow.Add(time.Hour).Unix())}), "RS256", "rsa"), true, true, ""},
		{"exp null", sign(t, hRS, strings.Replace(valid, `"exp":`, `"exp":null,"x":`, 1), "RS256", "rsa"), false, true, ReasonInvalidClaim},
		{"no exp", sign(t, hRS, claims(map[string]any{"exp": nil}), "RS256", "rsa"), false, true, ReasonInvalidClaim},
		{"EXP upper case", sign(t, hRS, strings.Replace(valid, `"exp":`, `"EXP":`, 1), "RS256", "rsa"), true, true, ""},
		{"exp twice, the first a string of letters", sign(t, hRS, strings.Replace(valid, `"exp":`, `"exp":"soon","exp":`, 1), "RS256", "rsa"), false, true, ReasonInvalidClaim},
		{"exp huge", sign(t, hRS, claims(map[string]any{"exp": 1e30}), "RS256", "rsa"), false, true, ReasonTokenExpired},
		{"nbf ahead", sign(t, hRS, claims(map[string]any{"nbf": diffNow.Add(time.Hour).Unix()}), "RS256", "rsa"), false, true, ReasonTokenNotYetValid},
		{"nbf within leeway", sign(t, hRS, claims(map[string]any{"nbf": diffNow.Add(4 * time.Minute).Unix()}), "RS256", "rsa"), true, true, ""},
		{"nbf huge", sign(t, hRS, claims(map[string]any{"nbf": 1e30}), "RS256", "rsa"), true, true, ""},
		{"iat ahead", sign(t, hRS, claims(map[string]any{"iat": diffNow.Add(time.Hour).Unix()}), "RS256", "rsa"), false, true, ReasonTokenNotYetValid},
		{"iat a string", sign(t, hRS, claims(map[string]any{"iat": "now"}), "RS256", "rsa"), false, true, ReasonInvalidClaim},
		{"another issuer", sign(t, hRS, claims(map[string]any{"iss": "https://evil.test"}), "RS256", "rsa"), false, true, ReasonWrongIssuer},
		{"issuer with a slash", sign(t, hRS, claims(map[string]any{"iss": diffIssuer + "/"}), "RS256", "rsa"), false, true, ReasonWrongIssuer},
		{"iss a number", sign(t, hRS, claims(map[string]any{"iss": 7}), "RS256", "rsa"), false, true, ReasonWrongIssuer},
		{"no aud", sign(t, hRS, claims(map[string]any{"aud": nil}), "RS256", "rsa"), false, true, ReasonWrongAudience},
		{"aud list", sign(t, hRS, claims(map[string]any{"aud": []string{"other", "api"}}), "RS256", "rsa"), true, true, ""},
		{"aud a number", sign(t, hRS, claims(map[string]any{"aud": 7}), "RS256", "rsa"), false, true, ReasonWrongAudience},
		{"another audience", sign(t, hRS, claims(map[string]any{"aud": "other"}), "RS256", "rsa"), false, true, ReasonWrongAudience},
		{"sub a number", sign(t, hRS, claims(map[string]any{"sub": 7}), "RS256", "rsa"), false, true, ReasonInvalidClaim},
		{"no sub", sign(t, hRS, claims(map[string]any{"sub": nil}), "RS256", "rsa"), false, true, ReasonMissingSubject},
		{"sub escaped", sign(t, hRS, strings.Replace(valid, `"sub":"alice"`, `"sub":"\u0061lice"`, 1), "RS256", "rsa"), true, true, ""},
		{"ID token", sign(t, hRS, claims(map[string]any{"token_use": "id"}), "RS256", "rsa"), false, true, ReasonWrongTokenType},
		{"distributed claims", sign(t, hRS, claims(map[string]any{"_claim_names": map[string]string{"groups": "src1"}}), "RS256", "rsa"), false, true, ReasonInvalidClaim},
		{"distributed claims with their source", sign(t, hRS, claims(map[string]any{"_claim_names": map[string]string{"groups": "src1"}, "_claim_sources": map[string]any{"src1": map[string]string{"endpoint": "https://x.test"}}}), "RS256", "rsa"), true, true, ""},
		{"payload a list", sign(t, hRS, `[1]`, "RS256", "rsa"), false, true, ReasonMalformedToken},
		{"payload null", sign(t, hRS, `null`, "RS256", "rsa"), false, true, ReasonWrongIssuer},
		{"payload not JSON", sign(t, hRS, `{"iss":`, "RS256", "rsa"), false, true, ReasonMalformedToken},
		{"unsafe tenant", sign(t, hRS, claims(map[string]any{"tenant": "Acme/../x"}), "RS256", "rsa"), false, true, ReasonUnsafeTenant},
		{"too large", sign(t, hRS, claims(map[string]any{"pad": strings.Repeat("x", DefaultMaxTokenBytes)}), "RS256", "rsa"), false, false, ReasonTokenTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, _, dn := agree(t, v, tc.token)
			if fast != tc.fast {
				t.Errorf("taken by the standard-library path: %v, want %v", fast, tc.fast)
			}
			switch {
			case tc.allow && dn != nil:
				t.Errorf("denied %s (%s), want allowed", dn.reason, dn.detail)
			case !tc.allow && dn == nil:
				t.Error("allowed, want denied")
			case !tc.allow && tc.reason != "" && dn.reason != tc.reason:
				t.Errorf("denied %s (%s), want %s", dn.reason, dn.detail, tc.reason)
			}
		})
	}
}

func jwkOf(t testing.TB, key any) string {
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The checks the preset's claims add run on the one decoding of the claims too.
func TestTheStandardLibraryPathDecidesAsGoOIDCUnderPresets(t *testing.T) {
	const hRS = `{"alg":"RS256","kid":"rsa1"}`
	v := diffVerifier(t, WithIdPPreset(PresetCognito), WithClientIDs("app1"))
	for _, c := range []map[string]any{
		{"aud": nil, "client_id": "app1"},
		{"aud": nil, "client_id": "app2"},
		{"aud": nil, "client_id": 7},
		{"aud": nil, "client_id": "app1", "token_use": "id"},
		{"aud": "other", "client_id": "app1"},
	} {
		agree(t, v, sign(t, hRS, claims(c), "RS256", "rsa"))
	}
}

// FuzzStandardLibraryPathAgrees signs any header and payload with the JWKS keys (or not) and
// requires both paths to decide alike, as they must on the bytes an attacker chooses.
func FuzzStandardLibraryPathAgrees(f *testing.F) {
	f.Add(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, claims(nil), uint8(0), uint16(0))
	f.Add(`{"alg":"ES256","kid":"ec1","typ":"at+jwt"}`, claims(nil), uint8(2), uint16(0))
	f.Add(`{"alg":"PS256","kid":"rsa1","typ":"at+jwt"}`, claims(map[string]any{"exp": 1.5}), uint8(1), uint16(0))
	f.Add(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":["b64"],"b64":false}`, claims(nil), uint8(0), uint16(0))
	f.Add(`{"alg":"RS256","typ":"at+jwt"}`, strings.Replace(claims(nil), `"exp":`, `"Exp":`, 1), uint8(0), uint16(0))
	f.Add(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, claims(map[string]any{"aud": []any{"api", 1}}), uint8(0), uint16(77))
	f.Add(`{"alg":"none"}`, `{}`, uint8(3), uint16(0))
	f.Add(`{"typ":"at+jwt","alg":"RS256","x5t":"i6lGk3FZzxRcUb2C3nEQ7syHJlY","kid":"rsa1"}`, claims(nil), uint8(0), uint16(0))
	f.Add(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`, strings.Replace(claims(nil), `"exp":`, `"exp":"soon","exp":`, 1), uint8(0), uint16(0))
	v := diffVerifier(f)
	f.Fuzz(func(t *testing.T, header, payload string, signer uint8, flip uint16) {
		alg, key := []string{"RS256", "PS256", "ES256", "none", "RS256"}[signer%5], []string{"rsa", "rsa", "ec", "none", "attacker"}[signer%5]
		raw := sign(t, header, payload, alg, key)
		if flip != 0 {
			b := []byte(raw)
			b[int(flip)%len(b)] ^= byte(flip>>8) | 1
			raw = string(b)
		}
		agree(t, v, raw)
	})
}

// The rules the hand-written matchers implement, as regular expressions.
var (
	roleARNPattern  = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::[0-9]{12}:role/(?:[!-~]*/)?[\w+=,.@-]{1,64}$`)
	tagCharsPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// The hand-written matchers equal the rules' regular expressions.
func FuzzMatchersEqualTheirPatterns(f *testing.F) {
	kept := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_+=,.@-]*$`)
	tenant := regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
	for _, s := range []string{"arn:aws:iam::123456789012:role/mcp-user", "arn:aws-us-gov:iam::123456789012:role/a/b/c", "arn:aws-iso-b:iam::123456789012:role//x",
		"arn:aws-isx:iam::123456789012:role/x", "arn:aws:iam::12345678901:role/x", "arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:role/a/ b/c",
		"Ünïcode tag", "a\u00a0b", "tab\tno", "\xff"} {
		f.Add(s)
	}
	for _, s := range []string{"", "a", "-a", "a-", "alice", "auth0|x", "a_b+c=d,e.f@g-h", strings.Repeat("a", 40), strings.Repeat("a", 41), "Acme", "a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isKeptSubject(s), kept.MatchString(s); got != want {
			t.Errorf("isKeptSubject(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := isRoleARN(s), roleARNPattern.MatchString(s); got != want {
			t.Errorf("isRoleARN(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := tagChars(s), tagCharsPattern.MatchString(s); got != want {
			t.Errorf("tagChars(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := indexNonB64Token(s), strings.IndexFunc(s, func(r rune) bool { return !isB64TokenRune(r) }); got != want {
			t.Errorf("indexNonB64Token(%q) = %d, the rune scan says %d", s, got, want)
		}
		if got, want := ValidTenant(s), tenant.MatchString(s); got != want {
			t.Errorf("ValidTenant(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}

// decodeClaims decodes as json.Unmarshal does, on any bytes.
func FuzzDecodeClaimsAsEncodingJSON(f *testing.F) {
	for _, s := range []string{claims(nil), `{}`, ` { "a" : [1, {"b": "}"}] , "a":null } `, `{"\u0061":1}`, `{"ä":1}`, `[1]`, `null`, `{"a":"x\"}"}`, `{"a":1`, `{"a":1}x`, `{"a":-1.5e3,"b":true}`} {
		f.Add([]byte(s))
	}
	for _, s := range []string{`{"exp":"soon","exp":1}`, `{"a":"\u00zz"}`, `{"a":"\u00e9\n\/"}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":1E+5}`,
		`{"a":tru}`, `{"a":[1,]}`, `{"a":{"b":1,}}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":1},`, `{,}`, `{"a" 1}`, "\t{}\n", `{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"a":{"b":[true,false,null,"x",{"c":-0.5e-3}]}}`, `{"Exp":1}`, `{"ISS":"x","iss":"y"}`, `{"At_Hash":"h","Groups":["A"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, plain, gerr := decodeClaims(b)
		var want claimSet
		werr := json.Unmarshal(b, &want)
		if (gerr == nil) != (werr == nil) || gerr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("decodeClaims(%q) = %q, %v; json.Unmarshal: %q, %v", b, got, gerr, want, werr)
		}
		if plain && topLevelNames(t, b) != len(got) {
			t.Errorf("decodeClaims(%q) says plain, but a name repeats", b)
		}
		for k := range got {
			for _, n := range registeredClaims {
				if plain && k != n && strings.EqualFold(k, n) {
					t.Errorf("decodeClaims(%q) says plain, but %s is %s in another case", b, k, n)
				}
			}
		}
	})
}

// topLevelNames counts the names of a JSON object's members, repeats included.
func topLevelNames(t *testing.T, b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	n, depth := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		// At depth 1 a token is a member's name: count it and read its value whole.
		if depth == 1 {
			n++
			if err := skipJSONValue(dec); err != nil {
				t.Fatalf("%q: %v", b, err)
			}
		}
	}
}

// skipJSONValue reads the value after a member's name.
func skipJSONValue(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}
