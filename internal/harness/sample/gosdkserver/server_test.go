package gosdkserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpsso/mcpsso/internal/harness/sample"
	"github.com/mcpsso/mcpsso/internal/harness/sample/gosdkserver"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// deploy starts the sample deployment with the defect, closed after the test.
func deploy(t *testing.T, defect gosdkserver.Defect) *sample.Deployment {
	t.Helper()
	d, err := sample.Start(t.Context(), sample.WithDefect(defect))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// tokenFor is an access token of user for the sample's resource.
func tokenFor(t *testing.T, d *sample.Deployment, user string, opts ...mockidp.TokenOption) string {
	t.Helper()
	tok, err := d.IdP().TokenFor(t.Context(), user, append([]mockidp.TokenOption{mockidp.WithTokenAudience(d.MCPURL())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// headers adds fixed headers to every request.
type headers map[string]string

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// session connects the official go-sdk client with these headers, closed after the test.
func session(t *testing.T, d *sample.Deployment, h headers) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "gosdkserver-test", Version: "1"}, nil)
	s, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: d.MCPURL(), HTTPClient: &http.Client{Transport: h}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// call calls a tool and returns its structured answer (or tool error text) and whether it is a
// tool error.
func call(t *testing.T, s *mcp.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := s.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	if res.IsError {
		return res.Content[0].(*mcp.TextContent).Text, true
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), false
}

func identity(t *testing.T, s *mcp.ClientSession) gosdkserver.Identity {
	t.Helper()
	text, isError := call(t, s, "identity", nil)
	if isError {
		t.Fatalf("identity: %s", text)
	}
	var id gosdkserver.Identity
	if err := json.Unmarshal([]byte(text), &id); err != nil {
		t.Fatalf("identity %s: %v", text, err)
	}
	return id
}

func TestTheToolsActAsTheCallersTenantRole(t *testing.T) {
	d := deploy(t, gosdkserver.NoDefect)
	alice := session(t, d, headers{"Authorization": "Bearer " + tokenFor(t, d, "alice")})

	id := identity(t, alice)
	if id.Caller.ARN != "arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-acme/usr-alice@acme.example" ||
		id.Session.Role != "arn:aws:iam::111122223333:role/quilt-mcp-target-acme" || id.Session.SourceIdentity != "usr-alice@acme.example" ||
		id.Session.Tenant != "acme" || id.Session.User != "alice@acme.example" {
		t.Errorf("identity as alice: %+v", id)
	}
	if text, isError := call(t, alice, "search", nil); isError || !strings.Contains(text, `"bucket":"quilt-tenant-acme"`) || !strings.Contains(text, `"key":"README.md"`) {
		t.Errorf("search of her own bucket: %s", text)
	}
	uri := "s3://quilt-tenant-acme/notes/alice.txt"
	if text, isError := call(t, alice, "write_file", map[string]any{"uri": uri, "text": "hello\n"}); isError {
		t.Fatalf("write_file: %s", text)
	}
	if text, isError := call(t, alice, "read_file", map[string]any{"uri": uri}); isError || !strings.Contains(text, `"text":"hello\n"`) {
		t.Errorf("read_file of what she wrote: %s", text)
	}
	if text, isError := call(t, alice, "delete_file", map[string]any{"uri": uri}); isError {
		t.Errorf("delete_file: %s", text)
	}
	if text, isError := call(t, alice, "read_file", map[string]any{"uri": uri}); !isError || !strings.HasPrefix(text, "NotFound: ") {
		t.Errorf("read_file of what she deleted: %s", text)
	}

	for _, tc := range []struct {
		tool   string
		args   map[string]any
		action string
	}{
		{"read_file", map[string]any{"uri": "s3://quilt-tenant-globex/README.md"}, "s3:GetObject"},
		{"write_file", map[string]any{"uri": "s3://quilt-tenant-globex/x.txt", "text": "x"}, "s3:PutObject"},
		{"delete_file", map[string]any{"uri": "s3://quilt-tenant-globex/README.md"}, "s3:DeleteObject"},
		{"search", map[string]any{"bucket": "quilt-tenant-globex"}, "s3:ListBucket"},
	} {
		text, isError := call(t, alice, tc.tool, tc.args)
		if !isError || !strings.HasPrefix(text, "AccessDenied: "+tc.action+" on ") {
			t.Errorf("alice's %s %v on globex's bucket: %s; want a tool error AccessDenied: %s", tc.tool, tc.args, text, tc.action)
		}
	}
	if text, isError := call(t, alice, "read_file", map[string]any{"uri": "https://example.com/x"}); !isError || !strings.Contains(text, "s3://bucket/key") {
		t.Errorf("read_file of a URI that is not s3://: %s", text)
	}
}

// post sends a tools/call of identity with h and returns the status, WWW-Authenticate and body.
func post(t *testing.T, url string, h http.Header) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url,
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"identity","arguments":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
}

// unsigned is token with alg none and no signature.
func unsigned(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
}

func TestRequestsWithoutAValidTokenOfATenantAreRefused(t *testing.T) {
	d := deploy(t, gosdkserver.NoDefect)
	valid := tokenFor(t, d, "alice")
	metadata := `resource_metadata="` + strings.TrimSuffix(d.MCPURL(), "/mcp") + `/.well-known/oauth-protected-resource/mcp"`
	for _, tc := range []struct {
		name      string
		h         http.Header
		status    int
		challenge []string // parts of WWW-Authenticate
	}{
		{"no token", nil, http.StatusUnauthorized, []string{"Bearer ", metadata}},
		{"a garbage token", http.Header{"Authorization": {"Bearer garbage"}}, http.StatusUnauthorized, []string{metadata, `error="invalid_token"`}},
		{"a token for the IdP's default audience, not the sample's resource", http.Header{"Authorization": {"Bearer " + tokenFor(t, d, "alice", mockidp.WithTokenAudience(d.IdP().Audience()))}},
			http.StatusUnauthorized, []string{`error="invalid_token"`}},
		{"an unsigned token (alg none)", http.Header{"Authorization": {"Bearer " + unsigned(t, valid)}}, http.StatusUnauthorized, []string{`error="invalid_token"`}},
		{"the token under another scheme", http.Header{"Authorization": {"Basic " + valid}}, http.StatusUnauthorized, []string{metadata}},
		{"two Authorization headers", http.Header{"Authorization": {"Bearer " + valid, "Bearer " + valid}}, http.StatusUnauthorized, []string{metadata}},
		{"a valid token of a user without a tenant", http.Header{"Authorization": {"Bearer " + tokenFor(t, d, "carol")}}, http.StatusForbidden, nil},
		{"a valid token from another site's page", http.Header{"Authorization": {"Bearer " + valid}, "Origin": {"https://evil.example"}}, http.StatusForbidden, nil},
		{"headers over 10 KiB", http.Header{"Authorization": {"Bearer " + valid}, "X-Padding": {strings.Repeat("p", 10<<10)}}, http.StatusRequestHeaderFieldsTooLarge, nil},
	} {
		status, challenge, body := post(t, d.MCPURL(), tc.h)
		if status != tc.status || strings.Contains(body, "sourceIdentity") {
			t.Errorf("%s: HTTP %d, want %d (body %.200s)", tc.name, status, tc.status, body)
		}
		for _, part := range tc.challenge {
			if !strings.Contains(challenge, part) {
				t.Errorf("%s: WWW-Authenticate %q lacks %s", tc.name, challenge, part)
			}
		}
		if tc.h == nil && strings.Contains(challenge, "error=") {
			t.Errorf("no token: the challenge carries an error code (RFC 6750 §3.1): %s", challenge)
		}
	}
	if status, _, body := post(t, d.MCPURL(), http.Header{"Authorization": {"Bearer " + valid}}); status != http.StatusOK || !strings.Contains(body, "usr-alice@acme.example") {
		t.Errorf("the control, alice's valid token: HTTP %d %.300s", status, body)
	}

	resp, err := http.Get(strings.TrimSuffix(d.MCPURL(), "/mcp") + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&prm); err != nil || prm.Resource != d.MCPURL() || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != d.IssuerURL() {
		t.Errorf("protected resource metadata: %+v %v", prm, err)
	}
}

// TestEachDefectIsTheMistakeItNames shows each defect's mistake next to the correct server
// doing the same thing: the conform table (harness/cmd/mcpsso) shows which specs catch it.
func TestEachDefectIsTheMistakeItNames(t *testing.T) {
	for _, tc := range []struct {
		defect gosdkserver.Defect
		// does runs the defect's mistake and says whether it happened.
		does func(t *testing.T, d *sample.Deployment) (bool, string)
	}{
		{gosdkserver.TenantFromURI, func(t *testing.T, d *sample.Deployment) (bool, string) {
			s := session(t, d, headers{"Authorization": "Bearer " + tokenFor(t, d, "alice")})
			text, isError := call(t, s, "read_file", map[string]any{"uri": "s3://quilt-tenant-globex/plans/secret-plan.txt"})
			return !isError, "alice reads globex's plan: " + text
		}},
		{gosdkserver.TrustsForwardedIdentity, func(t *testing.T, d *sample.Deployment) (bool, string) {
			s := session(t, d, headers{"Authorization": "Bearer " + tokenFor(t, d, "alice"), "X-Forwarded-User": "bob"})
			id := identity(t, s)
			return id.Session.SourceIdentity == "usr-bob", "alice, claiming X-Forwarded-User bob, acts as source identity " + id.Session.SourceIdentity
		}},
		{gosdkserver.SkipsSignatureCheck, func(t *testing.T, d *sample.Deployment) (bool, string) {
			status, _, body := post(t, d.MCPURL(), http.Header{"Authorization": {"Bearer " + unsigned(t, tokenFor(t, d, "alice"))}})
			return status == http.StatusOK && strings.Contains(body, "usr-alice@acme.example"), "an unsigned token of alice's: " + body
		}},
		{gosdkserver.SkipsSourceIdentity, func(t *testing.T, d *sample.Deployment) (bool, string) {
			id := identity(t, session(t, d, headers{"Authorization": "Bearer " + tokenFor(t, d, "alice")}))
			return id.Session.SourceIdentity == "" && strings.Contains(id.Caller.ARN, ":assumed-role/quilt-mcp-target-acme/"),
				"alice's session as " + id.Caller.ARN + " has source identity " + id.Session.SourceIdentity
		}},
	} {
		t.Run(tc.defect.String(), func(t *testing.T) {
			if did, what := tc.does(t, deploy(t, tc.defect)); !did {
				t.Errorf("with the defect, it did not happen: %s", what)
			}
			if did, what := tc.does(t, deploy(t, gosdkserver.NoDefect)); did {
				t.Errorf("the correct server did it too: %s", what)
			}
		})
	}
}

func TestParseDefect(t *testing.T) {
	for _, name := range []string{"", "none"} {
		if d, err := gosdkserver.ParseDefect(name); err != nil || d != gosdkserver.NoDefect {
			t.Errorf("ParseDefect(%q) = %q, %v", name, d, err)
		}
	}
	for _, d := range gosdkserver.Defects {
		if got, err := gosdkserver.ParseDefect(d.String()); err != nil || got != d {
			t.Errorf("ParseDefect(%q) = %q, %v", d, got, err)
		}
	}
	if _, err := gosdkserver.ParseDefect("tenant"); err == nil || !strings.Contains(err.Error(), "tenant-from-uri") {
		t.Errorf("an unknown defect: %v, want an error naming the defects", err)
	}
}

func TestStartRefusesAnIncompleteConfiguration(t *testing.T) {
	for _, tc := range []struct {
		opts    []gosdkserver.Option
		mention string
	}{
		{nil, "WithIssuer"},
		{[]gosdkserver.Option{gosdkserver.WithIssuer("http://127.0.0.1:1")}, "WithTenantRole"},
		{[]gosdkserver.Option{gosdkserver.WithTenantRole("arn:aws:iam::111122223333:role/target")}, "{tenant}"},
		{[]gosdkserver.Option{gosdkserver.WithIssuer("idp.example.com")}, "absolute"},
		{[]gosdkserver.Option{gosdkserver.WithTenantBucket("bucket")}, "{tenant}"},
		{[]gosdkserver.Option{gosdkserver.WithDefect("bogus")}, "bogus"},
	} {
		_, err := gosdkserver.Start(context.Background(), awsConfigWithCredentials(), tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%d options: %v, want an error mentioning %s", len(tc.opts), err, tc.mention)
		}
	}
}

// awsConfigWithCredentials is an SDK configuration that has credentials, for the checks that
// come before any is used.
func awsConfigWithCredentials() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

// TestWithResourceIsTheAudienceAndTheMetadatasResource: behind a proxy the server is known by
// another URL than its listener's; that URL is the token audience it accepts, the resource its
// metadata names, and where the MCP endpoint and metadata are served.
func TestWithResourceIsTheAudienceAndTheMetadatasResource(t *testing.T) {
	d := deploy(t, gosdkserver.NoDefect)
	cfg, err := d.AdminAWSConfig(d.Fixture().DeploymentAccount())
	if err != nil {
		t.Fatal(err)
	}
	const resource = "https://mcp.example.test/files/mcp"
	s, err := gosdkserver.Start(t.Context(), cfg, gosdkserver.WithIssuer(d.IssuerURL()), gosdkserver.WithResource(resource),
		gosdkserver.WithTenantRole("arn:aws:iam::111122223333:role/quilt-mcp-target-{tenant}"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.MCPURL() != resource || s.MetadataURL() != "https://mcp.example.test/.well-known/oauth-protected-resource/files/mcp" {
		t.Errorf("MCPURL %s, MetadataURL %s", s.MCPURL(), s.MetadataURL())
	}
	resp, err := http.Get(s.URL() + "/.well-known/oauth-protected-resource/files/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var prm struct {
		Resource string `json:"resource"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&prm); err != nil || prm.Resource != resource {
		t.Errorf("the metadata's resource %q (%v), want %s", prm.Resource, err, resource)
	}
	for aud, want := range map[string]int{resource: http.StatusOK, s.URL() + "/files/mcp": http.StatusUnauthorized} {
		tok, err := d.IdP().TokenFor(t.Context(), "alice", mockidp.WithTokenAudience(aud))
		if err != nil {
			t.Fatal(err)
		}
		if status, _, body := post(t, s.URL()+"/files/mcp", http.Header{"Authorization": {"Bearer " + tok}}); status != want {
			t.Errorf("a token for %s: HTTP %d, want %d (body %.200s)", aud, status, want, body)
		}
	}
}
