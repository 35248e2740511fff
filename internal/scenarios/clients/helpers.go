package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// redirectURL is the loopback callback the clients register. Nothing listens there: the
// browser step below reads the code from the IdP's redirect instead of following it.
const redirectURL = "http://127.0.0.1:8977/callback"

// clientName is how the suite's clients introduce themselves.
const clientName = "mcpsso clients suite"

// signInAs is the browser step of an authorization code flow for a person who signs in as
// user (fw.Authorize: login_hint, which the capability signin makes the IdP honour), reading
// code, state and iss from the redirect back to the client.
func signInAs(ctx context.Context, authURL, user string) (code, state, iss string, err error) {
	r, err := fw.Authorize(ctx, authURL, user, redirectURL)
	return r.Code, r.State, r.Iss, err
}

// declaredScopes are the scopes the deployment asks clients to request (its 401 challenge's
// scope, else its metadata's scopes_supported), for a client that reads neither itself. A
// deployment whose metadata cannot be found declares what its challenge names; the client
// then meets the missing metadata itself.
func declaredScopes(ctx context.Context) []string {
	d, _ := fw.Discover(ctx, fw.Current().MCPURL())
	return d.DeclaredScopes()
}

// pair is a signed-in user and another tenant's user, whose data the first must not reach.
type pair struct{ me, other fw.User }

// twoTenants picks two users of different tenants with buckets; the spec is skipped when the
// target has no such pair.
func twoTenants() pair {
	var mapped []fw.User
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" && u.Bucket != "" {
			mapped = append(mapped, u)
		}
	}
	for _, a := range mapped {
		for _, b := range mapped {
			if a.Tenant != b.Tenant && a.Bucket != b.Bucket {
				return pair{me: a, other: b}
			}
		}
	}
	Skip("target " + fw.Current().Name() + " has no two users of different tenants with buckets")
	return pair{}
}

// exercise is what a signed-in client then does, through the target's probes: whoami names the
// user's identity, the user's own tenant's bucket is listed, read and written, the other
// tenant's is refused; then the client's token is refreshed (forceRefresh) and whoami works
// again.
func exercise(ctx context.Context, client string, p pair, call fw.ToolCaller, forceRefresh func()) {
	GinkgoHelper()
	fw.RequireProbe(fw.OpWhoami, fw.OpList, fw.OpRead, fw.OpWrite)
	run := func(op fw.Op, v fw.ProbeVars) fw.ProbeResult {
		GinkgoHelper()
		r, err := fw.RunProbe(ctx, call, op, v)
		Expect(err).NotTo(HaveOccurred(), "%s: %s as %s", client, op, p.me.Name)
		return r
	}
	must := func(op fw.Op, v fw.ProbeVars) fw.ProbeResult {
		GinkgoHelper()
		r := run(op, v)
		Expect(r.OK()).To(BeTrue(), "%s: as %s (tenant %s), %s", client, p.me.Name, p.me.Tenant, r)
		return r
	}
	whoami := func() {
		GinkgoHelper()
		r := must(fw.OpWhoami, fw.ProbeVars{})
		id, err := r.Identity()
		Expect(err).NotTo(HaveOccurred(), "%s: %s", client, r)
		if _, role, _, ok := id.AssumedRole(); ok && p.me.Role != "" {
			Expect(p.me.Role).To(HaveSuffix("/"+role), "%s: whoami as %s names the tenant's role", client, p.me.Name)
		} else if p.me.Role != "" {
			Fail(fmt.Sprintf("%s: whoami as %s: the tools ran as %q, not as a session of the tenant's role %s", client, p.me.Name, id.ARN, p.me.Role))
		}
		if p.me.SourceIdentity != "" && id.SourceIdentity != "" {
			Expect(id.SourceIdentity).To(Equal(p.me.SourceIdentity), "%s: whoami as %s names the user's source identity", client, p.me.Name)
		}
	}
	whoami()

	_, err := must(fw.OpList, fw.ProbeVars{Bucket: p.me.Bucket}).Keys()
	Expect(err).NotTo(HaveOccurred(), "%s: listing %s's bucket", client, p.me.Name)

	key := fmt.Sprintf("mcpsso-clients/%s-%d.txt", strings.ReplaceAll(client, " ", "-"), time.Now().UnixNano())
	content := "written by " + client + "\n"
	must(fw.OpWrite, fw.ProbeVars{Bucket: p.me.Bucket, Key: key, Content: content})
	read, err := must(fw.OpRead, fw.ProbeVars{Bucket: p.me.Bucket, Key: key}).Content()
	Expect(err).NotTo(HaveOccurred())
	Expect(read).To(ContainSubstring(strings.TrimSpace(content)), "%s: %s reads back what it wrote to its tenant's bucket", client, p.me.Name)

	for _, k := range []string{key, "README.md"} {
		r := run(fw.OpRead, fw.ProbeVars{Bucket: p.other.Bucket, Key: k})
		Expect(r.OK()).To(BeFalse(), "%s: %s (tenant %s) read %s/%s of tenant %s: %s", client, p.me.Name, p.me.Tenant, p.other.Bucket, k, p.other.Tenant, r)
		Expect(r.Denied()).To(BeTrue(), "%s: the refusal of %s/%s is not %s: %s", client, p.other.Bucket, k, r.DenialRule(), r)
	}

	forceRefresh()
	whoami()
}

// refreshingSource is the go-sdk handler's token source (AuthorizationCodeHandlerConfig
// .NewTokenSource): x/oauth2's own, as the SDK builds it by default, except that expire makes
// the held token expired so the next request refreshes it, as it would an hour later.
type refreshingSource struct {
	mu        sync.Mutex
	ctx       context.Context
	cfg       *oauth2.Config
	src       oauth2.TokenSource
	refreshed []string // access tokens issued by refreshes
	lastToken string
	expired   bool // the held token was made expired (expire) and not yet refreshed
}

func (s *refreshingSource) newTokenSource(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx, s.cfg, s.src, s.lastToken = ctx, cfg, cfg.TokenSource(ctx, tok), tok.AccessToken
	return s, nil
}

func (s *refreshingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.src.Token()
	// A refresh is a token other than the one held, or, once expire made the held one expired,
	// a valid one: an IdP whose tokens carry no unique claim (Auth0's) issues the same JWT
	// again within the same second.
	if err == nil && (tok.AccessToken != s.lastToken || (s.expired && tok.Valid())) {
		s.refreshed = append(s.refreshed, tok.AccessToken)
		s.lastToken, s.expired = tok.AccessToken, false
	}
	return tok, err
}

// expire replaces the held token by an expired copy of it.
func (s *refreshingSource) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	Expect(s.src).NotTo(BeNil(), "the client never got a token")
	tok, err := s.src.Token()
	Expect(err).NotTo(HaveOccurred())
	Expect(tok.RefreshToken).NotTo(BeEmpty(), "the token response had no refresh token (offline_access was requested)")
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	s.src = s.cfg.TokenSource(s.ctx, &expired)
	s.expired = true
}

// requireRegistrationWay skips a spec whose client registers in a way the authorization server
// does not offer: that is a fact of the provider, not a defect of the deployment, and the
// pre-registered client is the way that works there. Dynamic Client Registration needs a
// registration_endpoint that registers a client without a token (an MCP client has none);
// a Client ID Metadata Document needs client_id_metadata_document_supported. A deployment
// whose metadata cannot be found is left to the client, which then fails on it.
func requireRegistrationWay(ctx context.Context, reg registration) {
	GinkgoHelper()
	d, err := fw.Discover(ctx, fw.Current().MCPURL())
	if err != nil || d.AuthServer == nil {
		return
	}
	switch reg {
	case dynamic:
		endpoint, _ := d.AuthServer["registration_endpoint"].(string)
		if endpoint == "" {
			Skip(fmt.Sprintf("the authorization server %s offers no Dynamic Client Registration (its metadata has no registration_endpoint; Cognito, Entra ID and Google have none): a client that registers itself cannot sign in there; pre-register the client", d.Issuer))
		}
		if status, body := tryRegistration(ctx, endpoint, nil); status == http.StatusUnauthorized || status == http.StatusForbidden {
			Skip(fmt.Sprintf("the registration endpoint %s refuses a registration without a token (%d: %s): it wants an initial access token (RFC 7591 §3; Okta's needs an admin SSWS or OAuth token), which an MCP client does not have; pre-register the client", endpoint, status, body))
		}
	case metadataDocument:
		if ok, _ := d.AuthServer["client_id_metadata_document_supported"].(bool); !ok {
			Skip(fmt.Sprintf("the authorization server %s does not advertise Client ID Metadata Documents (client_id_metadata_document_supported; Entra ID: public preview, Auth0: manual import only, Keycloak: the experimental cimd feature, Cognito, Okta, Google: none): a client identified by its document URL cannot sign in there; pre-register the client", d.Issuer))
		}
	}
}

// tryRegistration posts a minimal public-client registration (RFC 7591) with extra members,
// and returns the status and the start of the answer.
func tryRegistration(ctx context.Context, endpoint string, extra map[string]any) (int, string) {
	doc := map[string]any{"client_name": clientName + " (registration probe)", "redirect_uris": []string{redirectURL},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}}
	for k, v := range extra {
		doc[k] = v
	}
	body, _ := json.Marshal(doc)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return resp.StatusCode, strings.TrimSpace(string(answer))
}

// skipIfRegistrationRefusesResource skips mcp-go's spec when its registration failed (regErr)
// because the IdP refuses the RFC 8707 resource member mcp-go puts in its registration
// request, as Keycloak's does ("Unrecognized field"): the same registration without it is
// accepted. Otherwise it returns, and the spec fails on regErr.
func skipIfRegistrationRefusesResource(ctx context.Context, regErr error) {
	GinkgoHelper()
	d, err := fw.Discover(ctx, fw.Current().MCPURL())
	endpoint, _ := d.AuthServer["registration_endpoint"].(string)
	if err != nil || endpoint == "" {
		return
	}
	plain, _ := tryRegistration(ctx, endpoint, nil)
	withResource, answer := tryRegistration(ctx, endpoint, map[string]any{"resource": d.Resource()})
	if plain/100 == 2 && withResource/100 == 4 {
		Skip(fmt.Sprintf("the registration endpoint %s refuses the resource member mcp-go sends in its registration request (%d: %s), and accepts the same registration without it (Keycloak rejects unknown members): mcp-go cannot register itself there (%v); pre-register the client", endpoint, withResource, answer, regErr))
	}
}

// requireResourceParameter skips a real client's spec when the IdP refuses the RFC 8707
// resource parameter itself (fw.ResourceParameterRefusedError): the go-sdk and mcp-go send it
// in every authorization request, so they cannot sign in there, whatever the deployment does.
func requireResourceParameter(ctx context.Context, user string) {
	GinkgoHelper()
	_, err := fw.SignIn(ctx, fw.SignInOptions{User: user})
	if refused := new(fw.ResourceParameterRefusedError); errors.As(err, &refused) {
		Skip(refused.Error())
	}
}
