package mockidp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// ErrUnknownUser is SignInWithLoginHint's error for a user the IdP does not know.
var ErrUnknownUser = errors.New("not a user of this IdP")

// SignInWithLoginHint gets tokens for user from a running mock IdP through its authorization
// endpoint, headlessly: the mock logs in the user a login_hint names at once, so the
// authorization request answers with the code, which is then redeemed (PKCE S256). It is how
// tools sign in to a profile without the device grant (Cognito's), where `mcpsso token` would
// otherwise approve a device code. conf names the client, the endpoints and a loopback
// RedirectURL (nothing needs to listen there: the redirect is read, not followed); opts add
// request parameters such as resource.
func SignInWithLoginHint(ctx context.Context, conf *oauth2.Config, user string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	if conf.RedirectURL == "" {
		return nil, errors.New("mockidp: SignInWithLoginHint: conf.RedirectURL is required (a loopback URI)")
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(randomHex(8), append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("login_hint", user)}, opts...)...)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mockidp: authorization request: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		if resp.StatusCode == http.StatusOK {
			// The login page: login_hint named nobody the IdP knows.
			return nil, fmt.Errorf("mockidp: user %q: %w (it showed its login page)", user, ErrUnknownUser)
		}
		return nil, fmt.Errorf("mockidp: authorization request answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, fmt.Errorf("mockidp: authorization redirect %q: %v", resp.Header.Get("Location"), err)
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return nil, &oauth2.RetrieveError{ErrorCode: e, ErrorDescription: q.Get("error_description")}
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, err
	}
	return tok, nil
}
