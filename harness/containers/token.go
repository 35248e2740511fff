package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// TokenFor gets a user's access token from the IdP container the way `mcpsso token` does: the
// device grant as the public client mcpsso-cli, the code approved on the mock IdP's device page.
func (t *Topology) TokenFor(ctx context.Context, user string) (string, error) {
	conf := &oauth2.Config{ClientID: "mcpsso-cli", Endpoint: oauth2.Endpoint{
		DeviceAuthURL: t.issuerURL + "/device_authorization", TokenURL: t.issuerURL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		return "", fmt.Errorf("containers: device authorization: %w", err)
	}
	form := url.Values{"user_code": {da.UserCode}, "login_as": {user}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, da.VerificationURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("containers: approving the device code: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	var answer struct {
		Decision string `json:"decision"`
	}
	_ = json.Unmarshal(body, &answer)
	if resp.StatusCode != http.StatusOK || answer.Decision != "allow" {
		return "", fmt.Errorf("containers: approving the device code as %s: HTTP %d: %s", user, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		return "", fmt.Errorf("containers: device token: %w", err)
	}
	return tok.AccessToken, nil
}
