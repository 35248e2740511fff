package mcpserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzParseSessionTags: whatever the header holds, an accepted tag set obeys STS's rules and
// names a safe tenant, and re-encoding it in either form parses to the same tags.
func FuzzParseSessionTags(f *testing.F) {
	for _, seed := range []string{
		`[{"Key":"tenant","Value":"acme"}]`, `{"tenant":"acme"}`, `{"tenant":"acme","Tenant":"x"}`,
		`[{"Key":"tenant","Value":"acme","Key":"x"}]`, `{"tenant":"a\u0000"}`, `{"tenant":"acme"} `, `[`, `{"tenant":"globex","team":"a b"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tags, tenant, err := parseSessionTags(header)
		if err != nil {
			return
		}
		if !tenantPattern.MatchString(tenant) || len(tags) == 0 || len(tags) > maxTags {
			t.Fatalf("accepted tenant %q with %d tags from %q", tenant, len(tags), header)
		}
		if err := checkTags(tags); err != nil {
			t.Fatalf("accepted tags that break STS's rules (%v) from %q", err, header)
		}
		for _, tg := range tags {
			if !utf8.ValidString(tg.Key) || !utf8.ValidString(tg.Value) {
				t.Fatalf("accepted invalid UTF-8 from %q", header)
			}
		}
		list, _ := json.Marshal(tags)
		object := map[string]string{}
		for _, tg := range tags {
			object[tg.Key] = tg.Value
		}
		obj, _ := json.Marshal(object)
		for _, again := range [][]byte{list, obj} {
			back, backTenant, err := parseSessionTags(string(again))
			if err != nil || backTenant != tenant || !sameTags(back, tags) {
				t.Fatalf("%q parsed to %v, but its re-encoding %s parses to %v (%v)", header, tags, again, back, err)
			}
		}
	})
}

func sameTags(a, b []Tag) bool {
	cmp := func(x, y Tag) int {
		if x.Key < y.Key {
			return -1
		}
		if x.Key > y.Key {
			return 1
		}
		return 0
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// FuzzParseLimits: accepted limits are in range and survive a round trip.
func FuzzParseLimits(f *testing.F) {
	for _, seed := range []string{`{"requestsPerMinute":60,"sessionSeconds":900}`, `{}`, `{"sessionSeconds":43200}`,
		`{"requestsPerMinute":1e3}`, `{"requestsPerMinute":60,"requestsPerMinute":1}`, `{"x":1}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		l, err := parseLimits(header)
		if err != nil {
			return
		}
		if l.RequestsPerMinute < 0 || l.RequestsPerMinute > MaxRequestsPerMinute || l.SessionSeconds < MinSessionSeconds || l.SessionSeconds > MaxSessionSeconds {
			t.Fatalf("accepted out-of-range limits %+v from %q", l, header)
		}
		enc := map[string]int{"sessionSeconds": l.SessionSeconds}
		if l.RequestsPerMinute > 0 {
			enc["requestsPerMinute"] = l.RequestsPerMinute
		}
		again, _ := json.Marshal(enc)
		if back, err := parseLimits(string(again)); err != nil || back != l {
			t.Fatalf("%q parsed to %+v, its re-encoding %s to %+v (%v)", header, l, again, back, err)
		}
	})
}

// FuzzParseIdentity: an accepted identity always makes a valid AssumeRole: a role ARN, a
// source identity that is also a valid session name, and a bucket-safe tenant.
func FuzzParseIdentity(f *testing.F) {
	f.Add("arn:aws:iam::111122223333:role/quilt-mcp-target-acme", "usr-alice", `{"tenant":"acme"}`, `{"requestsPerMinute":60}`)
	f.Add("arn:aws:iam::111122223333:role/a/b/c", "auth0|x", `[{"Key":"tenant","Value":"a"}]`, ``)
	f.Fuzz(func(t *testing.T, role, source, tags, limits string) {
		h := http.Header{}
		h.Set(HeaderDecidedRole, role)
		h.Set(HeaderSourceIdentity, source)
		h.Set(HeaderSessionTags, tags)
		if limits != "" {
			h.Set(HeaderLimits, limits)
		}
		id, err := ParseIdentity(h)
		if err != nil {
			return
		}
		if !roleARNPattern.MatchString(id.RoleARN) || len(id.RoleARN) > maxRoleARNBytes {
			t.Fatalf("accepted role %q", id.RoleARN)
		}
		if !sourceIdentityPattern.MatchString(id.SourceIdentity) || sessionName(id.SourceIdentity) != id.SourceIdentity {
			t.Fatalf("accepted source identity %q (session name %q)", id.SourceIdentity, sessionName(id.SourceIdentity))
		}
		var c config = defaults()
		if _, err := c.bucketFor(id.Tenant); err != nil {
			t.Fatalf("accepted tenant %q: %v", id.Tenant, err)
		}
	})
}

// FuzzSessionName: any input yields a RoleSessionName STS accepts.
func FuzzSessionName(f *testing.F) {
	for _, seed := range []string{"", "a", "usr-1", "auth0|65f0", "ü", "x y z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got := sessionName(in); !sourceIdentityPattern.MatchString(got) {
			t.Fatalf("sessionName(%q) = %q, which STS would reject", in, got)
		}
	})
}
