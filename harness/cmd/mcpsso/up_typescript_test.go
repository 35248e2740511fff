package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
)

// tsClientSrc holds the TypeScript SDK client: package.json (the SDK pinned), package-lock.json
// and signin.mjs. `.ci/run` runs `npm ci` there; node_modules is git-ignored.
const tsClientSrc = "testdata/tsclient"

// TestUpWithTheTypeScriptSDK signs in to `mcpsso up` with the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk, its StreamableHTTPClientTransport and an OAuthClientProvider, in
// testdata/tsclient/signin.mjs) knowing nothing but the MCP URL: the 401 leads it to the
// protected resource metadata, the IdP's metadata, registration (dynamic, or the pre-registered
// public client mcpsso-cli), the authorization code flow with PKCE S256 and resource = the MCP
// URL, and the token; then it works as the user in the user's tenant, is refused the other
// tenant's object, and refreshes its token. Skipped with the reason where Node.js is missing,
// required in CI (MCPSSO_REQUIRE_NODE=1).
func TestUpWithTheTypeScriptSDK(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	node := nodeTool(t, "node", "the MCP TypeScript SDK client")
	bin := buildBinary(t)
	script := tsClient(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	fx := fixture.Default()

	cases := []struct {
		mode, user, foreignBucket, foreignKey string
	}{
		{mode: "dcr", user: "alice", foreignBucket: "quilt-tenant-globex", foreignKey: "plans/secret-plan.txt"},
		{mode: "preregistered", user: "bob", foreignBucket: "quilt-tenant-acme", foreignKey: "reports/2026-q3.csv"},
	}
	var subs, modes []string // of the subtests that ran (-run may select some)
	for _, c := range cases {
		u, ok := fx.UserByName(c.user)
		if !ok {
			t.Fatalf("the default fixture has no user %s", c.user)
		}
		t.Run(c.mode+" as "+c.user, func(t *testing.T) {
			subs, modes = append(subs, u.Sub), append(modes, c.mode)
			want := expectTSClient(t, fx, u, c.foreignBucket, c.foreignKey)
			steps := runTSClient(t, node, script, p, "--url", p.mcpURL, "--mode", c.mode, "--user", c.user,
				"--read", want.readKey, "--foreign", c.foreignBucket+"/"+c.foreignKey)
			checkTSClient(t, steps, c.mode, p, want)
		})
	}

	p.interrupt(t)
	log := p.stderr.String()
	if strings.Contains(log, "wrong_audience") {
		t.Errorf("the authorizer refused a token for its audience (wrong_audience): the MCP URL as RFC 8707 resource must be accepted; log:\n%s", log)
	}
	for _, sub := range subs {
		if !logHas(log, "authorizer", "ALLOW", "sub="+sub) {
			t.Errorf("the decision log has no authorizer ALLOW for sub=%s:\n%s", sub, log)
		}
	}
	if slices.Contains(modes, "dcr") && !logHas(log, "idp", "ALLOW", "client registered") {
		t.Errorf("the decision log has no dynamic client registration:\n%s", log)
	}
}

// tsWant is what signin.mjs must report for one user, from the fixture.
type tsWant struct {
	user          fixture.User
	role, bucket  string
	readKey       string // an object in the user's own bucket, and its content
	readContent   string
	foreignBucket string
	foreignKey    string
	tools         []string // the tools the reference MCP server lists
}

func expectTSClient(t *testing.T, fx *fixture.Fixture, u fixture.User, foreignBucket, foreignKey string) tsWant {
	t.Helper()
	m, ok := fx.MappingFor(u.Sub)
	if !ok {
		t.Fatalf("the default fixture maps no role for %s", u.Username)
	}
	w := tsWant{user: u, role: m.Role, foreignBucket: foreignBucket, foreignKey: foreignKey,
		tools: []string{"get_object", "list_objects", "put_object", "whoami"}}
	for _, tn := range fx.Tenants {
		if tn.Name == u.Tenant {
			w.bucket = tn.Bucket
		}
	}
	var foreignSeeded bool
	for _, b := range fx.Buckets {
		for _, o := range b.Objects {
			if b.Name == w.bucket && o.Key == "README.md" {
				w.readKey, w.readContent = o.Key, o.Content
			}
			foreignSeeded = foreignSeeded || b.Name == foreignBucket && o.Key == foreignKey
		}
	}
	if w.bucket == "" || w.readKey == "" || !foreignSeeded {
		t.Fatalf("the default fixture lacks tenant %s's bucket, its README.md, or %s/%s", u.Tenant, foreignBucket, foreignKey)
	}
	return w
}

// tsStep is one line of signin.mjs's output; each step fills the fields it has.
type tsStep struct {
	Step  string      `json:"step"`
	OK    bool        `json:"ok"`
	Error string      `json:"error"`
	HTTP  []tsRequest `json:"http"`

	// signin
	ClientID             string `json:"clientId"`
	RedirectURI          string `json:"redirectUri"`
	AuthorizationRequest struct {
		ClientID            string   `json:"client_id"`
		RedirectURI         string   `json:"redirect_uri"`
		Resource            []string `json:"resource"`
		CodeChallengeMethod string   `json:"code_challenge_method"`
		CodeChallenge       bool     `json:"code_challenge"`
		State               bool     `json:"state"`
	} `json:"authorizationRequest"`
	AuthorizationResponse struct {
		Iss string `json:"iss"`
	} `json:"authorizationResponse"`
	RefreshToken bool          `json:"refreshToken"`
	AccessToken  tsTokenClaims `json:"accessToken"`

	// tools/list
	Tools []string `json:"tools"`
	// whoami (and refresh's whoami)
	tsWhoami
	Whoami *tsWhoami `json:"whoami"`
	// read-own, write-own, read-foreign
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	Text     string `json:"text"`
	ReadBack bool   `json:"readBack"`
	Refused  bool   `json:"refused"`
	// refresh
	NewAccessToken bool `json:"newAccessToken"`
}

type tsWhoami struct {
	Role           string `json:"role"`
	Tenant         string `json:"tenant"`
	SourceIdentity string `json:"sourceIdentity"`
}

type tsTokenClaims struct {
	Aud      audience `json:"aud"`
	ClientID string   `json:"client_id"`
	Sub      string   `json:"sub"`
}

// audience is a JWT aud: one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// tsRequest is an HTTP request the SDK made, as signin.mjs noted it.
type tsRequest struct {
	Method    string   `json:"method"`
	URL       string   `json:"url"`
	Status    int      `json:"status"`
	RPC       string   `json:"rpc"`
	GrantType string   `json:"grant_type"`
	Resource  []string `json:"resource"`
}

// runTSClient runs signin.mjs and returns its steps by name, failing the test with its output
// (and the stack's log) unless it exits 0 with every line parsed.
func runTSClient(t *testing.T, node, script string, p *upProcess, args ...string) map[string]tsStep {
	t.Helper()
	stdout, stderr, err := execTSClient(t, node, script, args...)
	if err != nil {
		t.Fatalf("node signin.mjs %s: %v\nstdout:\n%s\nstderr:\n%s\nmcpsso up's log:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String(), p.stderr.String())
	}
	steps := map[string]tsStep{}
	var order []string
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		var s tsStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("signin.mjs printed a line that is not a step: %q: %v", sc.Text(), err)
		}
		if !s.OK {
			t.Fatalf("signin.mjs exited 0 but step %s failed: %s", s.Step, s.Error)
		}
		steps[s.Step] = s
		order = append(order, s.Step)
	}
	if want := []string{"signin", "connect", "tools/list", "whoami", "read-own", "write-own", "read-foreign", "refresh"}; !slices.Equal(order, want) {
		t.Fatalf("signin.mjs ran steps %q, want %q\nstdout:\n%s", order, want, stdout.String())
	}
	return steps
}

// execTSClient runs signin.mjs with args and returns its output, whatever its exit.
func execTSClient(t *testing.T, node, script string, args ...string) (stdout, stderr *bytes.Buffer, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = filepath.Dir(script)
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	t0 := time.Now()
	err = cmd.Run()
	t.Logf("node signin.mjs ran in %s", time.Since(t0).Round(time.Millisecond))
	return stdout, stderr, err
}

// checkTSClient checks what the SDK did and got, step by step.
func checkTSClient(t *testing.T, steps map[string]tsStep, mode string, p *upProcess, w tsWant) {
	t.Helper()
	mcpURL := p.mcpURL
	in := steps["signin"]
	if len(in.HTTP) == 0 || in.HTTP[0].URL != mcpURL || in.HTTP[0].Status != 401 {
		t.Errorf("signin: the first request was not the bare MCP URL answered 401: %+v", in.HTTP)
	}
	registered := slices.ContainsFunc(in.HTTP, func(r tsRequest) bool {
		return r.Method == "POST" && r.URL == p.issuer+"/register" && r.Status == 201
	})
	switch mode {
	case "dcr":
		if !registered || in.ClientID == "" || in.ClientID == "mcpsso-cli" {
			t.Errorf("signin (dcr): registered %v, client %q: want a dynamic registration (201) and its new client ID", registered, in.ClientID)
		}
	case "preregistered":
		if registered || in.ClientID != "mcpsso-cli" {
			t.Errorf("signin (preregistered): registered %v, client %q: want mcpsso-cli and no registration", registered, in.ClientID)
		}
	}
	ar := in.AuthorizationRequest
	if ar.ClientID != in.ClientID || ar.CodeChallengeMethod != "S256" || !ar.CodeChallenge || !ar.State ||
		!slices.Equal(ar.Resource, []string{mcpURL}) || ar.RedirectURI != in.RedirectURI || !strings.HasPrefix(ar.RedirectURI, "http://127.0.0.1:") {
		t.Errorf("signin: authorization request %+v: want client %s, PKCE S256, state, a loopback redirect URI, resource [%s]", ar, in.ClientID, mcpURL)
	}
	if in.AuthorizationResponse.Iss != p.issuer {
		t.Errorf("signin: the authorization response's iss is %q, want the issuer %s", in.AuthorizationResponse.Iss, p.issuer)
	}
	checkTokenRequest(t, "signin", in.HTTP, "authorization_code", mcpURL)
	checkAccessToken(t, "signin", in.AccessToken, mcpURL, w.user.Sub, in.ClientID)
	if !in.RefreshToken {
		t.Errorf("signin: the token response had no refresh token")
	}

	if tools := steps["tools/list"].Tools; !slices.Equal(tools, w.tools) {
		t.Errorf("tools/list: %q, want %q", tools, w.tools)
	}
	checkWhoami(t, "whoami", steps["whoami"].tsWhoami, w)

	if s := steps["read-own"]; s.Bucket != w.bucket || s.Text != w.readContent {
		t.Errorf("read-own: %s/%s is %q, want %s's %q", s.Bucket, s.Key, s.Text, w.bucket, w.readContent)
	}
	if s := steps["write-own"]; s.Bucket != w.bucket || !s.ReadBack {
		t.Errorf("write-own: wrote to %q (read back: %v), want %s, read back", s.Bucket, s.ReadBack, w.bucket)
	}
	if s := steps["read-foreign"]; !s.Refused || !strings.Contains(s.Text, "AccessDenied") || !strings.Contains(s.Text, w.foreignBucket+"/"+w.foreignKey) {
		t.Errorf("read-foreign: %s/%s: refused %v, %q: want a tool error AccessDenied naming the object", w.foreignBucket, w.foreignKey, s.Refused, s.Text)
	}

	r := steps["refresh"]
	if len(r.HTTP) == 0 || r.HTTP[0].Status != 401 || !r.NewAccessToken {
		t.Errorf("refresh: with its access token spoiled, requests %+v (want a 401 first), new token %v", r.HTTP, r.NewAccessToken)
	}
	checkTokenRequest(t, "refresh", r.HTTP, "refresh_token", mcpURL)
	checkAccessToken(t, "refresh", r.AccessToken, mcpURL, w.user.Sub, in.ClientID)
	if r.Whoami == nil {
		t.Errorf("refresh: no whoami after the refresh")
	} else {
		checkWhoami(t, "whoami after the refresh", *r.Whoami, w)
	}
}

// checkTokenRequest wants exactly one token request in reqs, of grant type grant, for resource,
// answered 200.
func checkTokenRequest(t *testing.T, step string, reqs []tsRequest, grant, resource string) {
	t.Helper()
	var tokenReqs []tsRequest
	for _, r := range reqs {
		if r.GrantType != "" {
			tokenReqs = append(tokenReqs, r)
		}
	}
	if len(tokenReqs) != 1 || tokenReqs[0].GrantType != grant || tokenReqs[0].Status != 200 || !slices.Equal(tokenReqs[0].Resource, []string{resource}) {
		t.Errorf("%s: token requests %+v: want one %s grant for resource %s, answered 200", step, tokenReqs, grant, resource)
	}
}

func checkAccessToken(t *testing.T, step string, c tsTokenClaims, mcpURL, sub, clientID string) {
	t.Helper()
	if !slices.Contains(c.Aud, mcpURL) || c.Sub != sub || c.ClientID != clientID {
		t.Errorf("%s: access token aud %q sub %q client %q: want aud %s (RFC 8707), sub %s, client %s", step, c.Aud, c.Sub, c.ClientID, mcpURL, sub, clientID)
	}
}

func checkWhoami(t *testing.T, step string, got tsWhoami, w tsWant) {
	t.Helper()
	if !strings.HasSuffix(got.Role, ":role/"+w.role) || got.Tenant != w.user.Tenant || !strings.Contains(got.SourceIdentity, w.user.Sub) {
		t.Errorf("%s: role %q tenant %q source identity %q: want role %s, tenant %s, a source identity naming %s", step, got.Role, got.Tenant, got.SourceIdentity, w.role, w.user.Tenant, w.user.Sub)
	}
}

// logHas reports whether one line of up's decision log holds every one of parts, in order.
func logHas(log string, parts ...string) bool {
	for line := range strings.Lines(log) {
		rest, ok := line, true
		for _, part := range parts {
			var found bool
			if _, rest, found = strings.Cut(rest, part); !found {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// nodeTool finds a Node.js command (node, npm, npx) that the test needs to run what: a missing
// one skips the test with the reason, or fails it when MCPSSO_REQUIRE_NODE=1 (CI sets it).
func nodeTool(t *testing.T, name, what string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(envRequireNode) == "1" {
			t.Fatalf("%s is not on PATH and %s=1: the test of %s must run", name, envRequireNode, what)
		}
		t.Skipf("%s is not on PATH (Node.js): cannot run %s (set %s=1 to fail instead)", name, what, envRequireNode)
	}
	return path
}

// tsClient returns the path of signin.mjs with its dependencies installed: testdata/tsclient's
// own when `npm ci` has installed exactly package-lock.json there (.ci/run does), else a copy in
// a temporary directory where this runs `npm ci` (so the tree gets no node_modules).
func tsClient(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(tsClientSrc)
	if err != nil {
		t.Fatal(err)
	}
	why, ok := lockInstalled(src)
	if ok {
		return filepath.Join(src, "signin.mjs")
	}
	npm := nodeTool(t, "npm", "npm ci for the MCP TypeScript SDK client")
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "signin.mjs"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, npm, "ci", "--prefix", dir, "--no-audit", "--no-fund").CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci --prefix %s (%s: %s): %v\n%s", dir, tsClientSrc, why, err, out)
	}
	t.Logf("%s: %s; ran npm ci in a temporary copy in %s", tsClientSrc, why, time.Since(t0).Round(time.Millisecond))
	return filepath.Join(dir, "signin.mjs")
}

// lockInstalled reports whether dir's node_modules holds exactly the packages of dir's
// package-lock.json (npm records what it installed in node_modules/.package-lock.json), and if
// not, why not.
func lockInstalled(dir string) (string, bool) {
	type lockfile struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	read := func(path string) (lockfile, error) {
		var l lockfile
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &l)
		}
		return l, err
	}
	want, err := read(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Sprintf("package-lock.json: %v", err), false
	}
	have, err := read(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return "no npm ci there", false
	}
	for name, p := range want.Packages {
		if name == "" {
			continue // the project itself
		}
		if got, ok := have.Packages[name]; !ok || got.Version != p.Version {
			return fmt.Sprintf("node_modules has %s %q, package-lock.json %q", name, got.Version, p.Version), false
		}
	}
	return "", true
}

// TestTheTypeScriptSDKUnderEveryIdPProfile signs in with the TypeScript SDK (its pre-registered
// public client: of the profiles only generic, auth0 and keycloak let a client register
// itself) to `mcpsso up --idp-profile P`, where the stack applies each provider's workaround
// (docs/idps.md): it works as the user, is refused the other tenant's object, and refreshes.
// Under entra-v2, whose authorization endpoint refuses RFC 8707's resource, the SDK's sign-in
// fails as it would against Entra ID, with the provider's AADSTS901002.
func TestTheTypeScriptSDKUnderEveryIdPProfile(t *testing.T) {
	t.Parallel()
	node := nodeTool(t, "node", "the MCP TypeScript SDK client")
	bin := buildBinary(t)
	script := tsClient(t)
	fx := fixture.Default()
	u, _ := fx.UserByName("alice")
	for _, profile := range []string{"cognito", "entra-v1", "entra-v2", "okta", "auth0", "keycloak"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel() // an up of its own, on free ports
			p := startUp(t, bin, "--idp-profile", profile, "--port-base", fmt.Sprint(freePortBase(t)))
			defer p.interrupt(t)
			args := []string{"--url", p.mcpURL, "--mode", "preregistered", "--user", "alice",
				"--read", "README.md", "--foreign", "quilt-tenant-globex/plans/secret-plan.txt"}
			if profile == "entra-v2" {
				stdout, stderr, err := execTSClient(t, node, script, args...)
				if err == nil || !strings.Contains(stdout.String()+stderr.String(), "AADSTS901002") {
					t.Fatalf("under entra-v2 the SDK's sign-in with resource: %v, want a failure naming AADSTS901002\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
				}
				return
			}
			w := expectTSClient(t, fx, u, "quilt-tenant-globex", "plans/secret-plan.txt")
			steps := runTSClient(t, node, script, p, args...)
			if ar := steps["signin"].AuthorizationRequest; ar.CodeChallengeMethod != "S256" || !ar.CodeChallenge {
				t.Errorf("signin: authorization request %+v: want PKCE S256", ar)
			}
			if tools := steps["tools/list"].Tools; !slices.Equal(tools, w.tools) {
				t.Errorf("tools/list: %q, want %q", tools, w.tools)
			}
			checkWhoami(t, "whoami", steps["whoami"].tsWhoami, w)
			if s := steps["read-own"]; s.Bucket != w.bucket || s.Text != w.readContent {
				t.Errorf("read-own: %s/%s is %q, want %s's %q", s.Bucket, s.Key, s.Text, w.bucket, w.readContent)
			}
			if s := steps["read-foreign"]; !s.Refused || !strings.Contains(s.Text, "AccessDenied") {
				t.Errorf("read-foreign: refused %v, %q: want a tool error AccessDenied", s.Refused, s.Text)
			}
			r := steps["refresh"]
			if len(r.HTTP) == 0 || r.HTTP[0].Status != 401 || r.Whoami == nil || !slices.ContainsFunc(r.HTTP, func(q tsRequest) bool { return q.GrantType == "refresh_token" && q.Status == 200 }) {
				t.Errorf("refresh: requests %+v, whoami after it %v: want a 401, a refresh_token grant answered 200, and whoami working", r.HTTP, r.Whoami != nil)
			}
		})
	}
}
