package mcpserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// FuzzCheckJSONRPC: whatever body a caller posts, the pre-check never panics; a body it lets
// through reaches mcp-go byte for byte, and what mcp-go then decodes as the id is a string, a
// number or null; what it refuses is a JSON-RPC error with id null.
func FuzzCheckJSONRPC(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, `{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}`,
		`{"id":[1]}`, `[{"id":1}]`, ` [`, `{"id":true}`, `{"ID":{},"id":1}`, `{"id":1,"id":[]}`, `{"id":"x"`, `null`, ``,
	} {
		f.Add(seed)
	}
	h := &Handler{cfg: defaults(), metrics: newMetrics(), log: defaults().logger, maxBody: 1 << 16}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
		if h.checkJSONRPC(w, r, "fuzz") {
			got, _ := io.ReadAll(r.Body)
			if string(got) != body {
				t.Fatalf("the body passed on changed: %q became %q", body, got)
			}
			var msg struct {
				ID any `json:"id"`
			}
			if json.Unmarshal(got, &msg) == nil {
				switch msg.ID.(type) {
				case nil, string, float64:
				default:
					t.Fatalf("let through an id of type %T in %q", msg.ID, body)
				}
			}
			return
		}
		var answer struct {
			JSONRPC string `json:"jsonrpc"`
			ID      any    `json:"id"`
			Error   struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer.JSONRPC != "2.0" || answer.ID != nil || answer.Error.Code != codeInvalidRequest {
			t.Fatalf("refused %q with %d %s", body, w.Code, w.Body)
		}
	})
}
