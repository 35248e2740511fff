package mcpserver

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The header rules (and the bucket name's shape) as regular expressions: the specification the
// hand-written matchers in headers.go and config.go implement.
var (
	roleARNPattern        = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::[0-9]{12}:role/(?:[!-~]*/)?[\w+=,.@-]{1,64}$`)
	sourceIdentityPattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tenantPattern         = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
	plainIntegerPattern   = regexp.MustCompile(`^(?:0|[1-9][0-9]{0,9})$`)
	bucketNamePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

var matcherSeeds = []string{
	"", "a", "ab", "-a", "a-", "acme", "Acme", "a--b", "0", "00", "01", "10", "1234567890", "12345678901", "-1", "1.5",
	"usr-00u8c2d9", "a_b+c=d,e.f@g-h", "a b", "a:b", "a/b", "a\n", "tab\tno", "\xff", "Ünïcode tag", "a\u00a0b", "日本",
	strings.Repeat("a", 40), strings.Repeat("a", 41), strings.Repeat("a", 64), strings.Repeat("a", 65),
	"arn:aws:iam::123456789012:role/mcp-user", "arn:aws-us-gov:iam::123456789012:role/a/b/c", "arn:aws-iso-b:iam::123456789012:role//x",
	"arn:aws-isx:iam::123456789012:role/x", "arn:aws:iam::12345678901:role/x", "arn:aws:iam::123456789012:role/",
	"arn:aws:iam::123456789012:role/a/ b/c", "arn:aws:iam::123456789012:role/a/", "arn:aws-cn:iam::123456789012:role/x",
	"arn:aws:iam::1234567890123:role/x", "arn:aws:iam::123456789012:user/x", "arn:aws:sts::123456789012:role/x",
	"arn:aws:iam::123456789012:role/" + strings.Repeat("n", 64), "arn:aws:iam::123456789012:role/" + strings.Repeat("n", 65),
	"acme-data", "a.b", "ab", "abc", "-ab", "ab-", ".ab", "ab.", "a..b", "Acme-data", strings.Repeat("b", 63), strings.Repeat("b", 64),
	"arn:aws:iam::123456789012:role/p\x7f/x", "arn:aws:iam::123456789012:role/x\n", "arn:aws-eusc:iam::123456789012:role/a:b/c",
}

func checkMatchers(t *testing.T, s string) {
	t.Helper()
	for _, m := range []struct {
		name string
		got  bool
		re   *regexp.Regexp
	}{
		{"isRoleARN", isRoleARN(s), roleARNPattern},
		{"isSourceIdentity", isSourceIdentity(s), sourceIdentityPattern},
		{"isTenant", isTenant(s), tenantPattern},
		{"isPlainInteger", isPlainInteger(s), plainIntegerPattern},
		{"isTagChars", isTagChars(s), tagCharsPattern},
		{"isBucketNameShape", isBucketNameShape(s), bucketNamePattern},
	} {
		if want := m.re.MatchString(s); m.got != want {
			t.Errorf("%s(%q) = %v, the rule %s says %v", m.name, s, m.got, m.re, want)
		}
	}
}

// Each hand-written header matcher accepts exactly what its rule's regular expression accepts.
func TestHeaderMatchersAgree(t *testing.T) {
	for _, s := range matcherSeeds {
		checkMatchers(t, s)
	}
}

func FuzzHeaderMatchersAgree(f *testing.F) {
	for _, s := range matcherSeeds {
		f.Add(s)
	}
	f.Fuzz(checkMatchers)
}

// stringArgs, where it answers, gives what decodeArgs gives; it answers only for exact names
// and strings.
func TestStringArgsAgreesWithDecodeArgs(t *testing.T) {
	type getArgs struct {
		Key    string `json:"key"`
		Bucket string `json:"bucket"`
	}
	for _, tc := range []struct {
		raw     map[string]any
		answers bool
	}{
		{nil, true},
		{map[string]any{}, true},
		{map[string]any{"key": "README.md"}, true},
		{map[string]any{"key": "a/b ü", "bucket": "acme-data"}, true},
		{map[string]any{"key": ""}, true},
		{map[string]any{"KEY": "x"}, false},     // encoding/json folds case: decodeArgs decides
		{map[string]any{"key": 5.0}, false},     // a number: decodeArgs names the type error
		{map[string]any{"key": nil}, false},     // null
		{map[string]any{"other": "x"}, false},   // unknown: decodeArgs refuses it
		{map[string]any{"key": "\xff"}, false},  // not UTF-8: encoding/json would change it
		{map[string]any{"key": []any{}}, false}, // an array
	} {
		var fast getArgs
		answered := stringArgs(tc.raw, getObjectArgs, &fast.Key, &fast.Bucket)
		if answered != tc.answers {
			t.Errorf("stringArgs(%v) answered %v, want %v", tc.raw, answered, tc.answers)
		}
		if !answered {
			continue
		}
		var slow getArgs
		if err := decodeArgs(tc.raw, &slow); err != nil || slow != fast {
			t.Errorf("stringArgs(%v) = %+v; decodeArgs = %+v, %v", tc.raw, fast, slow, err)
		}
	}
}

// A remembered header value gives what parsing it gives, a caller changing the tags it got
// changes nothing for the next, and a refused value is refused again with its reason.
func TestParsedHeadersAnswerAsParsing(t *testing.T) {
	m := &parsedHeaders{tagSets: map[string]parsedTags{}, limitSets: map[string]Limits{}}
	for _, v := range []string{`{"tenant":"acme","team":"x"}`, `[{"Key":"tenant","Value":"globex"}]`} {
		want, wantTenant, err := parseSessionTags(v)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			got, tenant, err := m.sessionTags(v)
			if err != nil || tenant != wantTenant || !slices.Equal(got, want) {
				t.Fatalf("sessionTags(%s) = %v %q %v; parsing gives %v %q", v, got, tenant, err, want, wantTenant)
			}
			got[0].Value = "changed by a caller"
		}
	}
	for range 2 {
		if _, _, err := m.sessionTags(`{"tenant":"Acme"}`); err == nil || !strings.Contains(err.Error(), "tenant") {
			t.Fatalf("an invalid tenant: %v", err)
		}
	}
	for range 2 {
		if l, err := m.limits(`{"requestsPerMinute":60}`); err != nil || l != (Limits{RequestsPerMinute: 60, SessionSeconds: DefaultSessionSeconds}) {
			t.Fatalf("limits = %+v %v", l, err)
		}
		if _, err := m.limits(`{"requestsPerMinute":0}`); err == nil {
			t.Fatal("requestsPerMinute 0 accepted")
		}
	}
	if len(m.tagSets) != 2 || len(m.limitSets) != 1 {
		t.Fatalf("remembered %d tag sets and %d limits; want only the 2 and 1 accepted", len(m.tagSets), len(m.limitSets))
	}
	for i := range maxMemoizedHeaders + 1 {
		if _, err := m.limits(fmt.Sprintf(`{"requestsPerMinute":%d}`, i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.limitSets); n > maxMemoizedHeaders {
		t.Fatalf("%d limits remembered, over the bound of %d", n, maxMemoizedHeaders)
	}
}
