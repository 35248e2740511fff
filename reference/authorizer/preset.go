package authorizer

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Preset is the configuration block of one identity provider: which claim proves that an
// access token is for this API, how access tokens are told from ID tokens, which token version
// is accepted, where the scopes and the tenant are, and the exact form of the issuer. Each
// field follows the provider's documentation of its access tokens (docs/idps.md).
// WithIdPPreset (MCPSSO_AUTHORIZER_IDP_PRESET) selects one; settings given explicitly
// (WithTokenType, WithTenantClaim, or their variables) override its defaults.
type Preset struct {
	// Name selects the preset: generic, cognito, entra-v1, entra-v2, okta, auth0, keycloak,
	// google.
	Name string
	// AudienceClaim proves whom the token is for. "aud": it must hold one of the accepted
	// audiences (WithAudience), and a token without aud is refused. "client_id" (Cognito, whose
	// access tokens carry no aud unless a resource was requested): the client_id must be one of
	// WithClientIDs, and an aud, when present, must still hold an accepted audience.
	AudienceClaim string
	// ClientClaim names the app client the token was issued to; WithClientIDs restricts it.
	ClientClaim string
	// TokenType tells access tokens from the ID tokens the same IdP signs with the same keys.
	TokenType TokenType
	// ScopeMarks requires the scope claim (ScopeClaim) too, whatever TokenType says: where the
	// marker claim alone does not tell the tokens apart (Auth0's ID tokens may carry azp), the
	// granted scopes do, since ID tokens carry none.
	ScopeMarks bool
	// Version is the value the ver claim must have ("" checks none): Entra ID issues v1 and v2
	// tokens with different issuers and audiences, per API, whatever endpoint was used.
	Version string
	// ScopeClaim names the claim that lists the granted scopes: "scope" (a space-separated
	// string) or "scp" (a space-separated string at Entra ID, a list at Okta; both types are
	// read as what they are). "" reads scope, else scp.
	ScopeClaim string
	// TenantClaim names the claim that carries the tenant (WithTenantClaim overrides it).
	TenantClaim string
	// IssuerForm is the issuer's exact form at this IdP. Issuers are compared exactly, so the
	// configured issuer must be written the IdP's way; New refuses one that cannot be.
	IssuerForm string
	// Unsupported, when set, is why this authorizer cannot work with the IdP: the preset is
	// refused with this reason.
	Unsupported string

	issuerRule func(*url.URL) string // "" when the configured issuer has the form
	opaqueHint string                // ends the detail of an opaque token's deny
}

// maxURLShown bounds an issuer shown in an error or a deny's detail.
const maxURLShown = 256

// Audience claims of a Preset.
const (
	AudienceFromAud      = "aud"
	AudienceFromClientID = "client_id"
)

// Preset names.
const (
	PresetGeneric  = "generic"
	PresetCognito  = "cognito"
	PresetEntraV1  = "entra-v1"
	PresetEntraV2  = "entra-v2"
	PresetOkta     = "okta"
	PresetAuth0    = "auth0"
	PresetKeycloak = "keycloak"
	PresetGoogle   = "google"
)

// slashRule wants the issuer's path to end in a slash, or not to.
func slashRule(idp string, slash bool) func(*url.URL) string {
	return func(u *url.URL) string {
		switch has := strings.HasSuffix(u.Path, "/"); {
		case slash && !has:
			return idp + "'s issuer ends with a slash, and its tokens carry it so"
		case !slash && has:
			return idp + "'s issuer has no trailing slash, and its tokens carry it so"
		}
		return ""
	}
}

// pathRule adds a path shape to a slash rule.
func pathRule(slash func(*url.URL) string, ok func(path string) bool, why string) func(*url.URL) string {
	return func(u *url.URL) string {
		if w := slash(u); w != "" {
			return w
		}
		if !ok(u.Path) {
			return why
		}
		return ""
	}
}

var presets = []Preset{
	{
		Name: PresetGeneric, AudienceClaim: AudienceFromAud, ClientClaim: "client_id", TokenType: DefaultTokenType,
		TenantClaim: DefaultTenantClaim, IssuerForm: "the IdP's issuer, exactly as its tokens carry it",
	},
	{
		// No aud unless a resource was requested; client_id names the app client, token_use
		// tells access tokens from ID tokens (whose aud is the client id); no typ header.
		Name: PresetCognito, AudienceClaim: AudienceFromClientID, ClientClaim: "client_id",
		TokenType:   TokenType{Claim: "token_use", Values: []string{"access"}},
		ScopeClaim:  "scope",
		TenantClaim: "custom:tenant", // user attributes are custom:…; a pre-token trigger puts one in access tokens
		IssuerForm:  "https://cognito-idp.{region}.amazonaws.com/{userPoolId} (no trailing slash)",
		issuerRule:  slashRule("Cognito", false),
		opaqueHint:  "Cognito's access tokens are JWTs: send the access token, not a refresh token",
	},
	{
		// v1: iss https://sts.windows.net/{tid}/ (with the slash), aud the App ID URI or GUID,
		// appid; typ JWT like the ID token, so scp marks delegated access tokens.
		Name: PresetEntraV1, AudienceClaim: AudienceFromAud, ClientClaim: "appid",
		TokenType: TokenType{Claim: "scp"}, Version: "1.0", ScopeClaim: "scp", TenantClaim: DefaultTenantClaim,
		IssuerForm: "https://sts.windows.net/{tenantId}/ (with the trailing slash)",
		issuerRule: slashRule("Entra ID v1", true),
		opaqueHint: "Entra ID's tokens for Microsoft Graph and Azure APIs cannot be verified by their recipients: ask for a token for your own API ({App ID URI}/.default)",
	},
	{
		Name: PresetEntraV2, AudienceClaim: AudienceFromAud, ClientClaim: "azp",
		TokenType: TokenType{Claim: "scp"}, Version: "2.0", ScopeClaim: "scp", TenantClaim: DefaultTenantClaim,
		IssuerForm: "https://login.microsoftonline.com/{tenantId}/v2.0 (no trailing slash)",
		issuerRule: func(u *url.URL) string {
			if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v2.0") {
				return slashRule("Entra ID v2", false)(u)
			}
			return "Entra ID v2's issuer ends with /v2.0 (https://sts.windows.net/{tenantId}/ is the v1 issuer: use the entra-v1 preset)"
		},
		opaqueHint: "Entra ID's tokens for Microsoft Graph and Azure APIs cannot be verified by their recipients: ask for a token for your own API ({App ID URI}/.default)",
	},
	{
		// Custom authorization server: header alg + kid only, scp a JSON list, cid.
		Name: PresetOkta, AudienceClaim: AudienceFromAud, ClientClaim: "cid",
		TokenType: TokenType{Claim: "scp"}, ScopeClaim: "scp", TenantClaim: DefaultTenantClaim,
		IssuerForm: "https://{yourOktaDomain}/oauth2/{authorizationServerId} (a custom authorization server, such as default; no trailing slash)",
		issuerRule: pathRule(slashRule("Okta", false), func(p string) bool { return strings.Contains(p, "/oauth2/") },
			"Okta's org authorization server (an issuer without /oauth2/{id}) issues access tokens for Okta's own APIs only; use a custom authorization server, such as https://{yourOktaDomain}/oauth2/default"),
		opaqueHint: "Okta's org authorization server issues access tokens for Okta's own APIs only: use a custom authorization server",
	},
	{
		// Auth0 token profile: typ JWT (at+jwt on the RFC 9068 profile) like the ID token, azp
		// (the RFC 9068 profile has client_id instead) and scope, which ID tokens never have, a
		// string; aud the API identifier, or a list with /userinfo when openid was asked too.
		Name: PresetAuth0, AudienceClaim: AudienceFromAud, ClientClaim: "azp",
		TokenType: TokenType{Claim: "azp"}, ScopeMarks: true, ScopeClaim: "scope", TenantClaim: DefaultTenantClaim,
		IssuerForm: "https://{tenant}.auth0.com/ or your custom domain, with the trailing slash",
		issuerRule: slashRule("Auth0", true),
		opaqueHint: "Auth0 issues an opaque access token when no audience is requested: have the client send audience={your API identifier} (or turn on the tenant's Resource Parameter Compatibility Profile so that resource works)",
	},
	{
		// typ JWT in the header (at+jwt as a per-client option), typ Bearer in the payload
		// (ID and refresh tokens say ID and Refresh), aud only through an Audience mapper.
		Name: PresetKeycloak, AudienceClaim: AudienceFromAud, ClientClaim: "azp",
		TokenType: TokenType{Claim: "typ", Values: []string{"Bearer"}}, ScopeClaim: "scope", TenantClaim: DefaultTenantClaim,
		IssuerForm: "https://{host}/realms/{realm} (no trailing slash)",
		issuerRule: pathRule(slashRule("Keycloak", false), func(p string) bool { return strings.Contains(p, "/realms/") },
			"Keycloak's issuer is realm-scoped: https://{host}/realms/{realm}"),
		opaqueHint: "Keycloak's access tokens are JWTs: send the access token, not a refresh token",
	},
	{
		Name: PresetGoogle, AudienceClaim: AudienceFromAud, TokenType: DefaultTokenType, TenantClaim: DefaultTenantClaim,
		IssuerForm: "https://accounts.google.com",
		Unsupported: "Google's access tokens are opaque (ya29.…), and this authorizer verifies JWTs only: they need introspection " +
			"(https://oauth2.googleapis.com/tokeninfo), a network call per token that a Lambda authorizer should not depend on; " +
			"Google's JWTs are ID tokens, which are not access tokens. Put a JWT-issuing IdP in front (Cognito, Keycloak or Auth0 federating Google)",
	},
}

// Presets lists every IdP preset, generic first.
func Presets() []Preset { return slices.Clone(presets) }

// PresetNames lists the preset names, generic first.
func PresetNames() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.Name
	}
	return names
}

// LookupPreset returns the named preset. An unknown name is an error listing the choices; a
// preset the pattern cannot work with (Google) is returned with its Unsupported reason.
func LookupPreset(name string) (Preset, error) {
	for _, p := range presets {
		if p.Name == name {
			return p, nil
		}
	}
	return Preset{}, fmt.Errorf("IdP preset %s: unknown (choices: %s)", quote(name), strings.Join(PresetNames(), ", "))
}

// CheckIssuer reports whether issuer has the IdP's exact form (nil when it has, or when the
// preset has no rule). The form is checked, never corrected: a token's iss is compared with
// the configured issuer exactly.
func (p Preset) CheckIssuer(issuer string) error {
	if p.issuerRule == nil {
		return nil
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("issuer %s: not a URL", quoteUpTo(issuer, maxURLShown))
	}
	if why := p.issuerRule(u); why != "" {
		return fmt.Errorf("issuer %s: the %s preset expects %s: %s (tokens' iss is compared with the issuer exactly)", quoteUpTo(issuer, maxURLShown), p.Name, p.IssuerForm, why)
	}
	return nil
}

// WithIdPPreset configures the authorizer for one IdP's access tokens (see Preset and
// Presets): the audience claim, the access-token marker, the token version, the scope and
// tenant claims, and the issuer's form, which New checks. WithTokenType and WithTenantClaim
// override the preset's defaults whatever the order of the options. Default: generic (the mock
// IdP's tokens, typ at+jwt and token_use access). The cognito preset needs WithClientIDs;
// google is refused (Preset.Unsupported says why).
func WithIdPPreset(name string) Option {
	return func(c *config) error {
		p, err := LookupPreset(name)
		if err != nil {
			return err
		}
		if p.Unsupported != "" {
			return fmt.Errorf("IdP preset %s: %s", p.Name, p.Unsupported)
		}
		c.preset = p
		return nil
	}
}

// WithClientIDs restricts the app clients whose tokens are accepted: the preset's client claim
// (client_id for Cognito and generic, azp for Entra ID v2, Auth0 and Keycloak, appid for Entra
// ID v1, cid for Okta) must be one of them. Required with the cognito preset, where client_id is
// what proves the token is for this API.
func WithClientIDs(ids ...string) Option {
	return func(c *config) error {
		if len(ids) == 0 {
			return fmt.Errorf("client ids: at least one is required")
		}
		var set []string
		for _, id := range ids {
			if id == "" || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == ',' }) {
				return fmt.Errorf("client id %s: must be non-empty without spaces or commas", quote(id))
			}
			if !slices.Contains(set, id) {
				set = append(set, id)
			}
		}
		c.clientIDs = set
		return nil
	}
}

// opaqueDetail explains why a token that is not a signed JWT was refused.
func opaqueDetail(raw string, p Preset) string {
	parts := strings.Count(raw, ".") + 1
	var b strings.Builder
	switch parts {
	case 5:
		b.WriteString("opaque access token (encrypted, a JWE of five parts): this authorizer verifies signed JWTs only")
	default:
		b.WriteString("opaque access token: this authorizer verifies JWTs only (a compact JWS: header.payload.signature)")
	}
	switch {
	case strings.HasPrefix(raw, "ya29."):
		b.WriteString("; Google's access tokens need introspection (tokeninfo)")
	case p.opaqueHint != "":
		b.WriteString("; " + p.opaqueHint)
	default:
		b.WriteString("; an opaque token needs the IdP's introspection (RFC 7662), which this authorizer does not do: configure the IdP to issue JWT access tokens")
	}
	return b.String()
}
