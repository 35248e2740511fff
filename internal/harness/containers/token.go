package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TokenFor gets a user's access token from the IdP container the way `mcpsso token` does: the
// device grant as the public client mcpsso-cli, the code approved on the mock IdP's device page.
// Like a real client it keeps the token until a minute before it expires: the grant waits out
// the IdP's polling interval (a second), which every spec of a suite would otherwise pay.
func (t *Topology) TokenFor(ctx context.Context, user string) (string, error) {
	t.tokenMu.Lock()
	defer t.tokenMu.Unlock()
	if tok, ok := t.tokens[user]; ok && time.Until(tok.Expiry) > time.Minute {
		return tok.AccessToken, nil
	}
	tok, err := t.deviceGrant(ctx, user, "")
	if err != nil {
		return "", err
	}
	if t.tokens == nil {
		t.tokens = map[string]*oauth2.Token{}
	}
	t.tokens[user] = tok
	return tok.AccessToken, nil
}

// TokenForResource is TokenFor with an RFC 8707 resource, the token's audience, as a
// spec-following MCP client asks for one; it is never kept.
func (t *Topology) TokenForResource(ctx context.Context, user, resource string) (string, error) {
	tok, err := t.deviceGrant(ctx, user, resource)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// deviceGrant runs the device grant as user (for resource, when given), approving the code on
// the IdP's device page, at the endpoints the IdP's discovery names (an IdP profile moves
// them). An IdP profile without the device grant (Cognito's) signs the user in through the
// authorization endpoint instead, with login_hint.
func (t *Topology) deviceGrant(ctx context.Context, user, resource string) (*oauth2.Token, error) {
	endpoint, err := t.idpEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	conf := &oauth2.Config{ClientID: mockidp.PublicClientID, Endpoint: endpoint}
	var params []oauth2.AuthCodeOption
	if resource != "" {
		params = append(params, oauth2.SetAuthURLParam("resource", resource))
	}
	if endpoint.DeviceAuthURL == "" {
		conf.RedirectURL = "http://127.0.0.1/callback"
		tok, err := mockidp.SignInWithLoginHint(ctx, conf, user, params...)
		if err != nil {
			return nil, fmt.Errorf("containers: signing in as %s: %w", user, err)
		}
		return tok, nil
	}
	da, err := conf.DeviceAuth(ctx, params...)
	if err != nil {
		return nil, fmt.Errorf("containers: device authorization: %w", err)
	}
	form := url.Values{"user_code": {da.UserCode}, "login_as": {user}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, da.VerificationURI, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("containers: approving the device code: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	var answer struct {
		Decision string `json:"decision"`
	}
	_ = json.Unmarshal(body, &answer)
	if resp.StatusCode != http.StatusOK || answer.Decision != "allow" {
		return nil, fmt.Errorf("containers: approving the device code as %s: HTTP %d: %s", user, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	tok, err := conf.DeviceAccessToken(ctx, da, params...)
	if err != nil {
		return nil, fmt.Errorf("containers: device token: %w", err)
	}
	return tok, nil
}

// idpEndpoint reads the IdP container's endpoints from its discovery document.
func (t *Topology) idpEndpoint(ctx context.Context) (oauth2.Endpoint, error) {
	u := strings.TrimSuffix(t.issuerURL, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("containers: IdP discovery: %w", err)
	}
	defer resp.Body.Close()
	var md struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Device        string `json:"device_authorization_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&md); err != nil || resp.StatusCode != http.StatusOK || md.Token == "" {
		return oauth2.Endpoint{}, fmt.Errorf("containers: IdP discovery at %s: HTTP %d without a token_endpoint (%v)", u, resp.StatusCode, err)
	}
	return oauth2.Endpoint{AuthURL: md.Authorization, TokenURL: md.Token, DeviceAuthURL: md.Device, AuthStyle: oauth2.AuthStyleInParams}, nil
}
