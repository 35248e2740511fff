package authorizer

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzParseBearer: whatever the header, the parser never panics; a token it returns is one
// RFC 6750 b64token found in the header; and a well-formed header always yields its token.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x", "BEARER  x==", "Bearer", "Bearer ", "Basic x", "",
		"Bearer a b", "Bearer a,Bearer b", " Bearer x ", "Bearer =x", "Bearer x=y", "Bearer\tx", "Bearer é"} {
		f.Add(s, false)
	}
	f.Add("Bearer x", true)
	b64token := regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)
	f.Fuzz(func(t *testing.T, header string, twice bool) {
		values := []string{header}
		if twice {
			values = append(values, header)
		}
		tok, dn := parseBearer(values)
		if dn != nil {
			if tok != "" {
				t.Fatalf("a denial with a token %q", tok)
			}
			if dn.reason != ReasonMissingToken && dn.reason != ReasonMalformedHeader {
				t.Fatalf("reason %s", dn.reason)
			}
			if len(tok) > 8 && strings.Contains(dn.detail, tok) {
				t.Fatalf("the detail %q repeats the token", dn.detail)
			}
			return
		}
		if twice {
			t.Fatal("two headers were accepted")
		}
		if !b64token.MatchString(tok) || !strings.Contains(header, tok) {
			t.Fatalf("token %q from %q is not a b64token of the header", tok, header)
		}
		if again, dn := parseBearer([]string{"Bearer " + tok}); dn != nil || again != tok {
			t.Fatalf("the canonical form of %q does not parse back: %v", tok, dn)
		}
	})
}

var stsSourceIdentity = regexp.MustCompile(`^usr-[\w+=,.@-]{1,60}$`)

// FuzzSourceIdentity: every subject yields a valid, stable STS source identity, and two
// different subjects never share one.
func FuzzSourceIdentity(f *testing.F) {
	for _, s := range []string{"00u8c2d9qkL4mT7xw5d7", "auth0|65f0c0ffee", "104592837461029384756", "_x", "a",
		strings.Repeat("a", 60), strings.Repeat("a", 61), "usr-x", "aws:x", "é", ""} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := SourceIdentity(a), SourceIdentity(b)
		for _, si := range []string{sa, sb} {
			if !stsSourceIdentity.MatchString(si) || len(si) > 64 {
				t.Fatalf("%q is not a valid source identity", si)
			}
		}
		if SourceIdentity(a) != sa {
			t.Fatal("not stable")
		}
		if (a == b) != (sa == sb) {
			t.Fatalf("subjects %q and %q map to %q and %q", a, b, sa, sb)
		}
	})
}

// bucketName is S3's rule for the tenant bucket quilt-tenant-<tenant>.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// FuzzClaimValidation feeds arbitrary claims to the checks after the signature: they never
// panic, and what they accept is safe to forward — a tenant that makes a valid bucket name
// and session tag, a printable subject, a valid source identity.
func FuzzClaimValidation(f *testing.F) {
	v := &tokenVerifier{typ: DefaultTokenType, tenantClaim: "tenant", emailClaim: "email",
		now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	for _, s := range []string{
		`{"sub":"alice","token_use":"access","tenant":"acme","email":"a@b"}`,
		`{"sub":"alice","token_use":"access","tenant":"../globex"}`,
		`{"sub":"","token_use":"access"}`,
		`{"sub":"x","token_use":["access"],"tenant":"a-b","agent_type":"bot","agent_capabilities":["r"]}`,
		`{"sub":"x","token_use":"id"}`,
		`{"sub":7,"token_use":"access"}`,
		`{"sub":"x","token_use":"access","iat":1e300,"tenant":null}`,
	} {
		f.Add("at+jwt", s)
	}
	f.Fuzz(func(t *testing.T, typ, payload string) {
		var c claimSet
		if json.Unmarshal([]byte(payload), &c) != nil {
			return
		}
		tok, dn := v.checkClaims(typ, c)
		if dn != nil {
			if dn.reason.Outcome() != Unauthenticated {
				t.Fatalf("a claim problem classified %s", dn.reason.Outcome())
			}
			return
		}
		if tok.tenant != "" && (!bucketName.MatchString("quilt-tenant-"+tok.tenant) || !tagCharsPattern.MatchString(tok.tenant) || !ValidTenant(tok.tenant)) {
			t.Fatalf("accepted tenant %q", tok.tenant)
		}
		if tok.sub == "" || len(tok.sub) > maxSubjectBytes || !printable(tok.sub) {
			t.Fatalf("accepted sub %q", tok.sub)
		}
		if !stsSourceIdentity.MatchString(SourceIdentity(tok.sub)) {
			t.Fatalf("sub %q gives an invalid source identity", tok.sub)
		}
		if !sameMediaType(typ, "at+jwt") {
			t.Fatalf("accepted typ %q", typ)
		}
	})
}

// FuzzParseStoreYAML: any YAML either fails with an error or yields a store whose every
// mapping passes Validate.
func FuzzParseStoreYAML(f *testing.F) {
	f.Add("mappings:\n  - sub: s\n    roleArn: arn:aws:iam::111122223333:role/r\n    tags: {tenant: acme}\n")
	f.Add("mappings:\n  - sub: s\n    tenant: acme\n    roleArn: arn:aws:iam::111122223333:role/r\n    limits: {sessionSeconds: 900}\n")
	f.Add("mappings: [{sub: s, roleArn: x}]")
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := ParseStoreYAML([]byte(doc))
		if err != nil {
			return
		}
		for k, m := range s.m {
			if err := m.Validate(); err != nil || k.sub == "" {
				t.Fatalf("store holds %+v for %+v: %v", m, k, err)
			}
		}
	})
}
