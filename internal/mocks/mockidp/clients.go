package mockidp

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Default clients (docs/components/mock-idp.md, "Clients"): the CLI's public client and a
// confidential demo client.
const (
	PublicClientID   = "mcpsso-cli"
	DemoClientID     = "mcpsso-demo"
	DemoClientSecret = "mcpsso-demo-secret"
)

// Grant types the IdP implements.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// Client is an OAuth client registered with the IdP.
type Client struct {
	ID string
	// Secret authenticates a confidential client (HTTP Basic or form). Empty makes the client
	// public: it identifies itself by client_id alone and must use PKCE.
	Secret string
	Name   string
	// RedirectURIs must match the request's redirect_uri exactly, except that an http
	// loopback URI matches on any port (RFC 8252 §7.3).
	RedirectURIs []string
	// AnyLoopbackRedirect accepts every http redirect URI on 127.0.0.1, [::1] or localhost,
	// any port and path (RFC 8252 native apps, and MCP clients on a laptop).
	AnyLoopbackRedirect bool
	// GrantTypes the client may use; nil means all three the IdP implements.
	GrantTypes []string
}

// Public reports whether the client has no secret.
func (c Client) Public() bool { return c.Secret == "" }

// DefaultClients are mcpsso-cli (public: device grant, and auth code with PKCE S256 from any
// loopback redirect URI) and mcpsso-demo (confidential, secret mcpsso-demo-secret).
func DefaultClients() []Client {
	return []Client{
		{ID: PublicClientID, Name: "mcpsso CLI", AnyLoopbackRedirect: true},
		{ID: DemoClientID, Secret: DemoClientSecret, Name: "mcpsso demo (confidential)", AnyLoopbackRedirect: true},
	}
}

func (c Client) allowsGrant(grant string) bool {
	if c.GrantTypes == nil {
		return true
	}
	return slices.Contains(c.GrantTypes, grant)
}

func validateClients(clients []Client) error {
	if len(clients) == 0 {
		return errors.New("clients: at least one client is required")
	}
	seen := map[string]bool{}
	for i, c := range clients {
		if err := validateClient(c); err != nil {
			return fmt.Errorf("clients[%d]: %w", i, err)
		}
		if seen[c.ID] {
			return fmt.Errorf("clients[%d].ID %q: already used by another client", i, c.ID)
		}
		seen[c.ID] = true
	}
	return nil
}

func validateClient(c Client) error {
	if c.ID == "" {
		return errors.New("ID: required")
	}
	if len(c.ID) > 256 || strings.ContainsFunc(c.ID, isControlOrSpace) {
		return fmt.Errorf("ID %q: at most 256 characters, no spaces or control characters", c.ID)
	}
	for j, u := range c.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return fmt.Errorf("RedirectURIs[%d]: %w", j, err)
		}
	}
	for j, g := range c.GrantTypes {
		if g != GrantAuthorizationCode && g != GrantRefreshToken && g != GrantDeviceCode {
			return fmt.Errorf("GrantTypes[%d] %q: must be %s, %s or %s", j, g, GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode)
		}
	}
	return nil
}

func isControlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

// validateRedirectURI applies the rules for a registered redirect URI: absolute, no fragment,
// https or loopback http, or a native app's private-use scheme (RFC 8252 §7.1).
func validateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("redirect URI %q: %v", raw, err)
	}
	switch {
	case !u.IsAbs():
		return fmt.Errorf("redirect URI %q: must be an absolute URI", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("redirect URI %q: must not contain a fragment (RFC 6749 §3.1.2)", raw)
	case u.User != nil:
		return fmt.Errorf("redirect URI %q: must not contain user information", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q: https needs a host", raw)
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https", raw)
		}
	case "javascript", "data", "file", "vbscript", "about", "blob":
		return fmt.Errorf("redirect URI %q: the %s scheme cannot be a redirect target", raw, u.Scheme)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackURI reports whether u is an http URI on a loopback host.
func loopbackURI(u *url.URL) bool {
	return u.Scheme == "http" && isLoopbackHost(u.Hostname()) && u.User == nil && u.Fragment == ""
}

// redirectAllowed reports whether c may receive the authorization response at raw.
func (c Client) redirectAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(raw, "#") {
		return false
	}
	if c.AnyLoopbackRedirect && loopbackURI(u) {
		return true
	}
	for _, registered := range c.RedirectURIs {
		if registered == raw {
			return true
		}
		// RFC 8252 §7.3: a loopback redirect URI matches whatever port the app listens on.
		r, err := url.Parse(registered)
		if err == nil && loopbackURI(r) && loopbackURI(u) && r.Hostname() == u.Hostname() &&
			r.EscapedPath() == u.EscapedPath() && r.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// clientCredentials is what a request presented to identify its client.
type clientCredentials struct {
	ID     string
	Secret string
	Method string // client_secret_basic, client_secret_post or none
}

// oauthError is an RFC 6749 §5.2 error: a code, a description naming the field and the
// rule, and the HTTP status.
type oauthError struct {
	Code        string
	Description string
	Status      int
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(format string, args ...any) *oauthError {
	return &oauthError{Code: "invalid_request", Description: fmt.Sprintf(format, args...), Status: 400}
}

func invalidClient(format string, args ...any) *oauthError {
	return &oauthError{Code: "invalid_client", Description: fmt.Sprintf(format, args...), Status: 401}
}

func invalidGrant(format string, args ...any) *oauthError {
	return &oauthError{Code: "invalid_grant", Description: fmt.Sprintf(format, args...), Status: 400}
}

// parseClientCredentials reads the client's credentials from the Authorization header
// (HTTP Basic, RFC 6749 §2.3.1: id and secret form-urlencoded, then base64) or the form.
// It does not look the client up.
func parseClientCredentials(authorization string, form url.Values) (clientCredentials, error) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	if authorization == "" {
		if formID == "" {
			return clientCredentials{}, invalidClient("client_id: required in the form when no HTTP Basic credentials are sent")
		}
		if err := checkCredential("client_id", formID, 256); err != nil {
			return clientCredentials{}, err
		}
		if _, sent := form["client_secret"]; sent {
			if err := checkCredential("client_secret", formSecret, 1024); err != nil {
				return clientCredentials{}, err
			}
			return clientCredentials{ID: formID, Secret: formSecret, Method: "client_secret_post"}, nil
		}
		return clientCredentials{ID: formID, Method: "none"}, nil
	}
	scheme, encoded, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return clientCredentials{}, invalidClient("Authorization header: only the Basic scheme authenticates clients here")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return clientCredentials{}, invalidClient("Authorization header: Basic credentials are not valid base64")
	}
	escapedID, escapedSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return clientCredentials{}, invalidClient("Authorization header: Basic credentials need the form client_id:client_secret")
	}
	id, err1 := url.QueryUnescape(escapedID)
	secret, err2 := url.QueryUnescape(escapedSecret)
	if err1 != nil || err2 != nil {
		return clientCredentials{}, invalidClient("Authorization header: client_id and client_secret must be form-urlencoded (RFC 6749 §2.3.1)")
	}
	if id == "" {
		return clientCredentials{}, invalidClient("Authorization header: client_id is empty")
	}
	if err := checkCredential("client_id", id, 256); err != nil {
		return clientCredentials{}, err
	}
	if err := checkCredential("client_secret", secret, 1024); err != nil {
		return clientCredentials{}, err
	}
	if _, sent := form["client_secret"]; sent {
		return clientCredentials{}, invalidRequest("client_secret: sent in both the Authorization header and the form; use one method (RFC 6749 §2.3)")
	}
	if formID != "" && formID != id {
		return clientCredentials{}, invalidRequest("client_id: the form says %q but the Authorization header says %q", formID, id)
	}
	return clientCredentials{ID: id, Secret: secret, Method: "client_secret_basic"}, nil
}

func checkCredential(field, value string, max int) *oauthError {
	if len(value) > max {
		return invalidClient("%s: longer than %d bytes", field, max)
	}
	if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return invalidClient("%s: contains control characters", field)
	}
	return nil
}

// authenticate checks credentials against the registered client c: a confidential client
// must prove its secret, a public client must not claim one.
func (c Client) authenticate(cred clientCredentials) error {
	if c.Public() {
		if cred.Method != "none" {
			return invalidClient("client %s is public: send client_id in the form without a secret or HTTP Basic (and use PKCE)", c.ID)
		}
		return nil
	}
	if cred.Method == "none" {
		return invalidClient("client %s is confidential: authenticate with client_secret (HTTP Basic or form)", c.ID)
	}
	if subtle.ConstantTimeCompare([]byte(cred.Secret), []byte(c.Secret)) != 1 {
		return invalidClient("client %s: wrong client_secret", c.ID)
	}
	return nil
}
