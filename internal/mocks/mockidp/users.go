package mockidp

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// User is a test user who can log in. The fixture package feeds these through WithUsers.
type User struct {
	// Username is what people and tests name the user by: the button on the login page,
	// `mcpsso token --user`, TokenFor. Email and Subject also name the user.
	Username string
	// Subject is the sub claim, shaped like a real IdP's subject (Okta, Keycloak, Google,
	// Auth0...), never already a session name.
	Subject string
	Email   string
	Name    string // display name (the name claim)
	// Tenant goes into the tenant claim (WithTenantClaim); empty means the user has no
	// tenant mapping and the claim is left out.
	Tenant string
	Groups []string
	// Agent, when set, adds OIDC-A agent claims: the user is an agent acting for someone.
	Agent *Agent
	// Claims are extra claims put in the ID and access tokens and userinfo. They cannot
	// replace a claim the IdP sets itself.
	Claims map[string]any
}

// Agent holds OpenID Connect for Agents (OIDC-A 1.0 proposal) claims.
type Agent struct {
	Type         string   `json:"agent_type,omitempty"`
	Model        string   `json:"agent_model,omitempty"`
	Version      string   `json:"agent_version,omitempty"`
	Provider     string   `json:"agent_provider,omitempty"`
	InstanceID   string   `json:"agent_instance_id,omitempty"`
	DelegatorSub string   `json:"delegator_sub,omitempty"`
	Purpose      string   `json:"delegation_purpose,omitempty"`
	Capabilities []string `json:"agent_capabilities,omitempty"`
}

// DefaultUsers are the users every IdP starts with unless WithUsers replaces them (until the
// fixture package supplies its own): two tenants, a user without a tenant mapping, and a
// user whose Auth0-style subject holds a "|", which no AWS SourceIdentity may contain.
func DefaultUsers() []User {
	return []User{
		{Username: "alice", Subject: "00u8c2d9qkL4mT7xw5d7", Email: "alice@acme.example", Name: "Alice Archer",
			Tenant: "acme", Groups: []string{"acme-analysts"}},
		{Username: "bob", Subject: "5f0c9a8e-3b1d-4c27-9e6a-1d2b3c4d5e6f", Email: "bob@globex.example", Name: "Bob Brandt",
			Tenant: "globex", Groups: []string{"globex-engineers"}},
		{Username: "carol", Subject: "104592837461029384756", Email: "carol@example.com", Name: "Carol Chen",
			Groups: []string{"contractors"}},
		{Username: "dave", Subject: "auth0|65f0c0ffee1234567890abcd", Email: "dave@acme.example", Name: "Dave Dalton",
			Tenant: "acme", Groups: []string{"acme-admins"}},
	}
}

// reservedClaims are set by the IdP itself; user claims and the tenant claim name cannot
// take them over.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "azp",
	"auth_time", "nonce", "sid", "token_use", "email", "email_verified", "name", "preferred_username", "groups"}

func validateUsers(users []User) error {
	if len(users) == 0 {
		return fmt.Errorf("users: at least one user is required")
	}
	seen := map[string]string{}
	for i, u := range users {
		field := fmt.Sprintf("users[%d]", i)
		if u.Username == "" {
			return fmt.Errorf("%s.Username: required", field)
		}
		if strings.ContainsAny(u.Username, " \t\r\n") {
			return fmt.Errorf("%s.Username %q: must not contain whitespace", field, u.Username)
		}
		if u.Subject == "" {
			return fmt.Errorf("%s (%s).Subject: required", field, u.Username)
		}
		for _, name := range []string{u.Username, u.Subject, u.Email} {
			if name == "" {
				continue
			}
			if other, dup := seen[name]; dup && other != u.Username {
				return fmt.Errorf("%s (%s): %q also names user %s; usernames, subjects and emails must be unique", field, u.Username, name, other)
			}
			seen[name] = u.Username
		}
		for k := range u.Claims {
			if slices.Contains(reservedClaims, k) {
				return fmt.Errorf("%s (%s).Claims[%q]: the IdP sets this claim itself", field, u.Username, k)
			}
		}
	}
	return nil
}

// cloneUser copies u so callers cannot change the IdP's users through shared slices and maps.
func cloneUser(u User) User {
	u.Groups = slices.Clone(u.Groups)
	u.Claims = maps.Clone(u.Claims)
	if u.Agent != nil {
		a := *u.Agent
		a.Capabilities = slices.Clone(a.Capabilities)
		u.Agent = &a
	}
	return u
}

// profileClaims are the user's claims released for scopes, for ID tokens and userinfo.
func (u *User) profileClaims(scopes []string, tenantClaim string) map[string]any {
	c := map[string]any{"sub": u.Subject}
	if slices.Contains(scopes, "email") && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = true
	}
	if slices.Contains(scopes, "profile") {
		if u.Name != "" {
			c["name"] = u.Name
		}
		c["preferred_username"] = u.Username
	}
	if slices.Contains(scopes, "groups") && len(u.Groups) > 0 {
		c["groups"] = slices.Clone(u.Groups)
	}
	u.addIdentityClaims(c, tenantClaim)
	return c
}

// addIdentityClaims adds what every token about u carries whatever the scope: the tenant,
// agent and extra claims (the authorizer maps users by them).
func (u *User) addIdentityClaims(c map[string]any, tenantClaim string) {
	if u.Tenant != "" {
		c[tenantClaim] = u.Tenant
	}
	if u.Agent != nil {
		raw, _ := json.Marshal(u.Agent) // a struct of strings cannot fail to marshal
		var agent map[string]any
		_ = json.Unmarshal(raw, &agent)
		maps.Copy(c, agent)
	}
	maps.Copy(c, u.Claims)
}

// sessionUser adapts a User to mockoidc's User interface, so the ID tokens mockoidc builds
// carry our claims.
type sessionUser struct {
	user        *User
	tenantClaim string
}

var _ mockoidc.User = sessionUser{}

func (s sessionUser) ID() string { return s.user.Subject }

func (s sessionUser) Userinfo(scopes []string) ([]byte, error) {
	return json.Marshal(s.user.profileClaims(scopes, s.tenantClaim))
}

func (s sessionUser) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return idTokenClaims{base: base, extra: s.user.profileClaims(scopes, s.tenantClaim)}, nil
}

// idTokenClaims merges mockoidc's registered claims (and nonce) with the user's claims.
type idTokenClaims struct {
	base  *mockoidc.IDTokenClaims
	extra map[string]any
}

func (c idTokenClaims) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(c.base)
	if err != nil {
		return nil, err
	}
	merged := map[string]any{}
	if err := json.Unmarshal(raw, &merged); err != nil {
		return nil, err
	}
	maps.Copy(merged, c.extra)
	return json.Marshal(merged)
}

// jwt.Claims is satisfied through the embedded registered claims of the base.
func (c idTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return c.base.GetExpirationTime()
}
func (c idTokenClaims) GetIssuedAt() (*jwt.NumericDate, error)  { return c.base.GetIssuedAt() }
func (c idTokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.base.GetNotBefore() }
func (c idTokenClaims) GetIssuer() (string, error)              { return c.base.GetIssuer() }
func (c idTokenClaims) GetSubject() (string, error)             { return c.base.GetSubject() }
func (c idTokenClaims) GetAudience() (jwt.ClaimStrings, error)  { return c.base.GetAudience() }
