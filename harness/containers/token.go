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
// the IdP's device page.
func (t *Topology) deviceGrant(ctx context.Context, user, resource string) (*oauth2.Token, error) {
	conf := &oauth2.Config{ClientID: "mcpsso-cli", Endpoint: oauth2.Endpoint{
		DeviceAuthURL: t.issuerURL + "/device_authorization", TokenURL: t.issuerURL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	var params []oauth2.AuthCodeOption
	if resource != "" {
		params = append(params, oauth2.SetAuthURLParam("resource", resource))
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
