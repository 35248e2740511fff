package framework

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// SignInRedirectURI is the loopback redirect URI SignIn registers for the public client.
// Nothing listens there: the authorization endpoint's redirect to it is read, not followed.
const SignInRedirectURI = "http://127.0.0.1:8976/callback"

// OAuthError is an OAuth error response (RFC 6749 §4.1.2.1, §5.2) from the authorization or the
// token endpoint.
type OAuthError struct {
	// Endpoint is "authorization" or "token".
	Endpoint    string
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	return fmt.Sprintf("the %s endpoint refused: %s: %s", e.Endpoint, e.Code, e.Description)
}

// AuthorizationResponse is what the authorization endpoint sends the client's redirect URI
// (RFC 6749 §4.1.2, and iss of RFC 9207).
type AuthorizationResponse struct {
	Code, State, Iss string
}

// Authorize is the browser step of an authorization code flow for a person who signs in as
// user: it GETs authURL with login_hint=user added, which the kit's mock IdP honours by logging
// that user in with no person at a browser (CapSignIn), and reads the answer from the IdP's
// redirect to redirectURI without following it. An error the IdP sends back is an *OAuthError.
func Authorize(ctx context.Context, authURL, user, redirectURI string) (AuthorizationResponse, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return AuthorizationResponse{}, fmt.Errorf("authorization URL %q: %v", authURL, err)
	}
	q := u.Query()
	q.Set("login_hint", user)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return AuthorizationResponse{}, err
	}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		return AuthorizationResponse{}, fmt.Errorf("GET the authorization endpoint: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return AuthorizationResponse{}, fmt.Errorf("the authorization endpoint answered %d, not a redirect back to the client: %s", resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return AuthorizationResponse{}, fmt.Errorf("redirect Location: %v", err)
	}
	if !strings.HasPrefix(back.String(), redirectURI) {
		return AuthorizationResponse{}, fmt.Errorf("redirected to %s, not the client's %s", back, redirectURI)
	}
	bq := back.Query()
	if e := bq.Get("error"); e != "" {
		return AuthorizationResponse{}, &OAuthError{Endpoint: "authorization", Code: e, Description: bq.Get("error_description")}
	}
	return AuthorizationResponse{Code: bq.Get("code"), State: bq.Get("state"), Iss: bq.Get("iss")}, nil
}

// SignInOptions say whom SignIn signs in, and for what.
type SignInOptions struct {
	// User is the test user the IdP logs in (login_hint).
	User string
	// Resource is the RFC 8707 resource asked for, the token's audience; "" asks for the
	// protected resource metadata's resource, as a spec-following MCP client does.
	Resource string
	// Scopes are the scopes asked for. nil follows the MCP scope selection strategy: the 401
	// challenge's scope, else the metadata's scopes_supported, else no scope parameter; an
	// empty, non-nil list sends no scope parameter.
	Scopes []string
	// WithoutResource sends no resource parameter (for an IdP that refuses it: see
	// ResourceParameterRefusedError); the token then has the IdP's default audience.
	WithoutResource bool
}

// ResourceParameterRefusedError is SignIn's answer when the authorization server refuses the
// RFC 8707 resource parameter itself, not one value of it: the request with resource is
// refused as invalid_request and the same request without it is not. Entra ID's v2.0 endpoint
// does so (AADSTS901002); a client must then ask for the API in its scope
// ({resource}/.default) instead, which MCP clients, sending resource as the MCP authorization
// spec asks, do not do: no spec-following client signs in there.
type ResourceParameterRefusedError struct {
	Resource string
	Refusal  *OAuthError
}

func (e *ResourceParameterRefusedError) Error() string {
	return fmt.Sprintf("the authorization server refuses the RFC 8707 resource parameter itself (asked for %s, it answered %s: %s) and signs in without it: MCP clients send resource in every authorization request (the MCP authorization spec asks them to; the go-sdk, mcp-go and the TypeScript SDK do), so none of them can sign in there. Entra ID's v2.0 endpoint answers so (AADSTS901002), and no tenant setting changes it: a client must ask for scope {App ID URI}/.default instead of sending resource",
		e.Resource, e.Refusal.Code, e.Refusal.Description)
}

// SignedIn is the outcome of SignIn.
type SignedIn struct {
	AccessToken string
	// Resource and Scopes are what was asked for.
	Resource string
	Scopes   []string
	// Discovery is what was learnt from the MCP URL on the way.
	Discovery Discovery
}

// SignIn signs a test user in to the current target's deployment as an MCP client does from
// the bare MCP URL (CapSignIn): Discover, then authorization code with PKCE S256 as the public
// client PublicClientID on the loopback SignInRedirectURI, with resource in the authorization
// and the token request (RFC 8707) and the scopes of o. An error the IdP answers is an
// *OAuthError.
func SignIn(ctx context.Context, o SignInOptions) (SignedIn, error) {
	d, err := Discover(ctx, Current().MCPURL())
	if err != nil {
		return SignedIn{}, err
	}
	out := SignedIn{Discovery: d, Resource: o.Resource, Scopes: o.Scopes}
	if out.Resource == "" {
		if out.Resource = d.Resource(); out.Resource == "" {
			return out, fmt.Errorf("the protected resource metadata at %s has no resource", d.MetadataURL)
		}
	}
	if out.Scopes == nil {
		out.Scopes = d.DeclaredScopes()
	}
	authURL, _ := d.AuthServer["authorization_endpoint"].(string)
	tokenURL, _ := d.AuthServer["token_endpoint"].(string)
	if authURL == "" || tokenURL == "" {
		return out, fmt.Errorf("the authorization server metadata at %s lacks authorization_endpoint or token_endpoint", d.AuthServerURL)
	}
	conf := &oauth2.Config{ClientID: PublicClientID, RedirectURL: SignInRedirectURI, Scopes: out.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	verifier, state := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	var resource []oauth2.AuthCodeOption
	if o.WithoutResource {
		out.Resource = ""
	} else {
		resource = append(resource, oauth2.SetAuthURLParam("resource", out.Resource))
	}
	got, err := Authorize(ctx, conf.AuthCodeURL(state, append(resource, oauth2.S256ChallengeOption(verifier))...), o.User, SignInRedirectURI)
	var refusal *OAuthError
	if errors.As(err, &refusal) && refusal.Code == "invalid_request" && !o.WithoutResource {
		// Is it the resource parameter itself the server refuses? The same request without it.
		if _, again := Authorize(ctx, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), o.User, SignInRedirectURI); again == nil {
			return out, &ResourceParameterRefusedError{Resource: out.Resource, Refusal: refusal}
		}
	}
	if err != nil {
		return out, err
	}
	switch {
	case got.State != state:
		return out, fmt.Errorf("the authorization endpoint sent state %q back, not %q", got.State, state)
	case got.Code == "":
		return out, errors.New("the authorization endpoint sent no code back")
	}
	tok, err := conf.Exchange(ctx, got.Code, append(resource, oauth2.VerifierOption(verifier))...)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return out, &OAuthError{Endpoint: "token", Code: re.ErrorCode, Description: re.ErrorDescription}
	}
	if err != nil {
		return out, fmt.Errorf("the token request for resource %s: %w", out.Resource, err)
	}
	out.AccessToken = tok.AccessToken
	return out, nil
}

// TokenAudience reads a JWT's aud claim (a string or a list) without verifying the token; nil
// for an opaque token or one without aud.
func TokenAudience(token string) []string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		return nil
	}
	switch a := claims.Aud.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
