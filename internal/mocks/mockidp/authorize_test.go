package mockidp_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// authorizeParams are a valid public-client request; each case below breaks one thing.
func authorizeParams(edit func(url.Values)) url.Values {
	v := url.Values{
		"client_id":             {mockidp.PublicClientID},
		"redirect_uri":          {"http://127.0.0.1:40000/cb"},
		"response_type":         {"code"},
		"scope":                 {"openid email"},
		"state":                 {"xyz"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}
	if edit != nil {
		edit(v)
	}
	return v
}

func TestAuthorizationRequestsAreValidated(t *testing.T) {
	p := startIdP(t)
	authURL := p.Endpoint().AuthURL
	tests := []struct {
		name string
		edit func(url.Values)
		// page: the IdP shows the error itself (400); otherwise it redirects with error.
		page    bool
		wantErr string
		wantIn  string
	}{
		{"a missing client_id is shown, not redirected", func(v url.Values) { v.Del("client_id") }, true, "", "client_id: required"},
		{"an unknown client is shown, not redirected", func(v url.Values) { v.Set("client_id", "nobody") }, true, "", "nobody"},
		{"a non-loopback redirect URI for the CLI client is shown, not redirected",
			func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, true, "", "not registered"},
		{"a redirect URI with a fragment is shown, not redirected",
			func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:1/cb#x") }, true, "", "not registered"},
		{"a repeated parameter is shown, not redirected", func(v url.Values) { v.Add("state", "again") }, true, "", "sent 2 times"},
		{"a response_type other than code is refused", func(v url.Values) { v.Set("response_type", "token") }, false, "unsupported_response_type", "only code"},
		{"an unknown scope is refused", func(v url.Values) { v.Set("scope", "openid admin") }, false, "invalid_scope", `"admin"`},
		{"a public client without PKCE is refused", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, false, "invalid_request", "must use PKCE"},
		{"the plain PKCE method is refused", func(v url.Values) {
			v.Set("code_challenge_method", "plain")
			v.Set("code_challenge", oauth2.GenerateVerifier())
		}, false, "invalid_request", "plain: refused"},
		{"a challenge without a method (plain by default) is refused", func(v url.Values) { v.Del("code_challenge_method") }, false, "invalid_request", "means plain"},
		{"a short S256 challenge is refused", func(v url.Values) { v.Set("code_challenge", "abc") }, false, "invalid_request", "43"},
		{"a relative resource is refused", func(v url.Values) { v.Set("resource", "quilt-mcp") }, false, "invalid_target", "absolute URI"},
		{"a resource with a fragment is refused", func(v url.Values) { v.Set("resource", "https://mcp.example/#x") }, false, "invalid_target", "fragment"},
		{"prompt=none without a known user asks for a login", func(v url.Values) { v.Set("prompt", "none") }, false, "login_required", "prompt=none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := noRedirects.Get(authURL + "?" + authorizeParams(tc.edit).Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.page {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.wantIn) {
					t.Fatalf("got %d, want a 400 page saying %q:\n%s", resp.StatusCode, tc.wantIn, body)
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("got %d, want a redirect with error %s:\n%s", resp.StatusCode, tc.wantErr, body)
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			q := loc.Query()
			if loc.Host != "127.0.0.1:40000" || q.Get("error") != tc.wantErr || !strings.Contains(q.Get("error_description"), tc.wantIn) ||
				q.Get("state") != "xyz" || q.Get("iss") != p.IssuerURL() {
				t.Fatalf("redirect %s; want error %s mentioning %q, with state and iss", loc, tc.wantErr, tc.wantIn)
			}
		})
	}
}

func TestLoginPageListsTheTestUsersAndLogsInOnPost(t *testing.T) {
	p := startIdP(t)
	params := authorizeParams(nil)
	resp, err := http.Get(p.Endpoint().AuthURL + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "test IdP") || !strings.Contains(string(page), "no passwords") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("login page %d:\n%s", resp.StatusCode, page)
	}
	for _, u := range p.Users() {
		if !strings.Contains(string(page), `value="`+u.Username+`"`) {
			t.Errorf("the page has no button for %s", u.Username)
		}
	}

	post := func(extra url.Values) *http.Response {
		form := authorizeParams(nil)
		for k, v := range extra {
			form[k] = v
		}
		resp, err := noRedirects.PostForm(p.Endpoint().AuthURL, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(url.Values{"login_as": {"bob"}}); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Errorf("pressing bob's button: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := post(url.Values{"deny": {"1"}}); !strings.Contains(resp.Header.Get("Location"), "error=access_denied") {
		t.Errorf("pressing Deny: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := post(url.Values{"login_as": {"mallory"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown user on the form: %d, want the page again with 400", resp.StatusCode)
	}
}

func TestLoginHintNamesTheUserHeadlessly(t *testing.T) {
	p := startIdP(t)
	q := authorize(t, p.Endpoint().AuthURL+"?"+authorizeParams(func(v url.Values) { v.Set("login_hint", "carol@example.com") }).Encode())
	if q.Get("code") == "" {
		t.Fatalf("login_hint should log in without the page: %v", q)
	}
}

func TestCodesAreRedeemedOnceWithTheirVerifierAndRedirectURI(t *testing.T) {
	p := startIdP(t)
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "http://[::1]:7000/cb", "openid", "offline_access")
	login := func() (code, verifier string) {
		if err := p.QueueLogin("alice"); err != nil {
			t.Fatal(err)
		}
		verifier = oauth2.GenerateVerifier()
		return authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Get("code"), verifier
	}
	token := func(code string, edit func(url.Values)) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {conf.ClientID}, "code": {code}, "redirect_uri": {conf.RedirectURL}}
		edit(form)
		return postForm(t, p.Endpoint().TokenURL, form, "", "")
	}

	t.Run("a wrong verifier is refused and burns the code", func(t *testing.T) {
		code, verifier := login()
		if status, body := token(code, func(v url.Values) { v.Set("code_verifier", oauth2.GenerateVerifier()) }); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, body)
		}
		if status, body := token(code, func(v url.Values) { v.Set("code_verifier", verifier) }); status != 400 || !strings.Contains(body["error_description"].(string), "already redeemed") {
			t.Fatalf("the right verifier after a wrong one: %d %v", status, body)
		}
	})
	t.Run("a missing verifier is refused", func(t *testing.T) {
		code, _ := login()
		if status, body := token(code, func(url.Values) {}); status != 400 || !strings.Contains(body["error_description"].(string), "code_verifier: required") {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("another redirect URI is refused", func(t *testing.T) {
		code, verifier := login()
		status, body := token(code, func(v url.Values) { v.Set("code_verifier", verifier); v.Set("redirect_uri", "http://[::1]:7001/cb") })
		if status != 400 || !strings.Contains(body["error_description"].(string), "redirect_uri") {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("a replayed code is refused and revokes the refresh token it produced", func(t *testing.T) {
		code, verifier := login()
		status, first := token(code, func(v url.Values) { v.Set("code_verifier", verifier) })
		if status != 200 {
			t.Fatalf("first redemption: %d %v", status, first)
		}
		if status, body := token(code, func(v url.Values) { v.Set("code_verifier", verifier) }); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("replay: %d %v", status, body)
		}
		status, body := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {conf.ClientID},
			"refresh_token": {first["refresh_token"].(string)}}, "", "")
		if status != 400 || !strings.Contains(body["error_description"].(string), "revoked") {
			t.Fatalf("refresh after a replay: %d %v", status, body)
		}
	})
	t.Run("a resource not granted at authorization is invalid_target", func(t *testing.T) {
		code, verifier := login()
		status, body := token(code, func(v url.Values) { v.Set("code_verifier", verifier); v.Set("resource", "https://elsewhere.example") })
		if status != 400 || body["error"] != "invalid_target" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("the granted resource may be repeated at the token endpoint", func(t *testing.T) {
		code, verifier := login()
		status, body := token(code, func(v url.Values) { v.Set("code_verifier", verifier); v.Set("resource", mockidp.DefaultAudience) })
		if status != 200 || claimsOf(t, body["access_token"].(string))["aud"] != mockidp.DefaultAudience {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("another client cannot redeem the code", func(t *testing.T) {
		code, verifier := login()
		status, body := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {conf.RedirectURL}, "code_verifier": {verifier}}, mockidp.DemoClientID, mockidp.DemoClientSecret)
		if status != 400 || !strings.Contains(body["error_description"].(string), "another client") {
			t.Fatalf("%d %v", status, body)
		}
	})
}

func TestPlainPKCEWorksOnlyWhenConfigured(t *testing.T) {
	p := startIdP(t, mockidp.WithPlainPKCE())
	verifier := oauth2.GenerateVerifier()
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "http://localhost:1234/cb")
	q := authorize(t, conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if _, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
}

// TestRegisteredLoopbackRedirectMatchesAnyPort applies RFC 8252 §7.3 to registered URIs,
// and exact matching to everything else.
func TestRegisteredLoopbackRedirectMatchesAnyPort(t *testing.T) {
	app := mockidp.Client{ID: "app", Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1/callback", "https://app.example/cb"}}
	p := startIdP(t, mockidp.WithClients(app))
	for _, tc := range []struct {
		redirect string
		ok       bool
	}{
		{"http://127.0.0.1:5555/callback", true},
		{"http://127.0.0.1/callback", true},
		{"http://127.0.0.1:5555/other", false},
		{"http://localhost:5555/callback", false},
		{"https://app.example/cb", true},
		{"https://app.example/cb/", false},
		{"https://app.example:8443/cb", false},
	} {
		resp, err := noRedirects.Get(p.Endpoint().AuthURL + "?" + url.Values{"client_id": {"app"}, "redirect_uri": {tc.redirect},
			"response_type": {"code"}, "login_hint": {"alice"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusFound; got != tc.ok {
			t.Errorf("redirect %s: status %d, want accepted=%v", tc.redirect, resp.StatusCode, tc.ok)
		}
	}
}

// TestRedirectURIMayBeOmittedWhenTheClientHasOne: RFC 6749 §3.1.2.3 lets a client with one
// registered redirect URI leave it out, at both endpoints.
func TestRedirectURIMayBeOmittedWhenTheClientHasOne(t *testing.T) {
	app := mockidp.Client{ID: "app", Secret: "s3cret", RedirectURIs: []string{"https://app.example/cb"}}
	p := startIdP(t, mockidp.WithClients(app))
	q := authorize(t, p.Endpoint().AuthURL+"?"+url.Values{"client_id": {"app"}, "response_type": {"code"}, "login_hint": {"bob"}}.Encode())
	status, body := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}}, "app", "s3cret")
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
}
