package mockidp

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// IdP profiles: the mock IdP issues tokens as a real provider does. A profile is data, one
// value per provider below, read by the IdP's one code path; nothing is forked per provider.
// Every field cites the sources it reproduces ([C1], [E2], … are the tags of the source list
// in docs/components/mock-idp.md, "Sources"); "n/f" marks what the sources do not say, where
// the profile keeps the kit's generic behaviour or states the choice it made. The mock serves on its own host (loopback), so a profile reproduces the FORM
// of the provider's URLs (path shape, trailing slash), not their host names.

// Profile names.
const (
	ProfileGeneric  = "generic"
	ProfileCognito  = "cognito"
	ProfileEntraV1  = "entra-v1"
	ProfileEntraV2  = "entra-v2"
	ProfileOkta     = "okta"
	ProfileAuth0    = "auth0"
	ProfileKeycloak = "keycloak"
	ProfileGoogle   = "google"
)

// AccessTokenFormat says what an access token is.
type AccessTokenFormat string

// Access token formats.
const (
	// AccessJWT: always a signed JWT.
	AccessJWT AccessTokenFormat = "jwt"
	// AccessOpaqueWithoutAudience: a JWT when the client names an API (Auth0's audience
	// parameter), else an opaque string only the IdP's userinfo accepts.
	AccessOpaqueWithoutAudience AccessTokenFormat = "opaque-without-audience"
	// AccessOpaque: always an opaque string, to be introspected at the IdP.
	AccessOpaque AccessTokenFormat = "opaque"
)

// ResourceRule is what the IdP does with an RFC 8707 resource parameter.
type ResourceRule string

// Resource rules.
const (
	// ResourceAudience: the resource becomes the audience; without one, the default audience.
	ResourceAudience ResourceRule = "audience"
	// ResourceAudienceOnly: the resource becomes the audience; without one there is no aud.
	ResourceAudienceOnly ResourceRule = "audience-only-if-sent"
	// ResourceRefused: any resource is an error (Entra's v2 endpoint, AADSTS901002).
	ResourceRefused ResourceRule = "refused"
	// ResourceMustBeAudience: the resource must name the API (the default audience), else an
	// error (Entra's v1 endpoint, AADSTS500011).
	ResourceMustBeAudience ResourceRule = "must-be-the-audience"
	// ResourceIgnored: the parameter is ignored; the audience is the default one.
	ResourceIgnored ResourceRule = "ignored"
)

// DCRMode is how the IdP answers Dynamic Client Registration (RFC 7591).
type DCRMode string

// Registration modes.
const (
	// DCROpen: anyone may register; unknown metadata is ignored (RFC 7591 §2).
	DCROpen DCRMode = "open"
	// DCRStrict: anyone may register, but an unknown member fails the registration with
	// Keycloak's 400 "Unrecognized field".
	DCRStrict DCRMode = "strict"
	// DCRAdminToken: the endpoint exists and is advertised, but needs an administrator's
	// token, which no MCP client has (Okta).
	DCRAdminToken DCRMode = "admin-token"
	// DCRNone: no registration endpoint (404), none advertised.
	DCRNone DCRMode = "none"
)

// KeyIDForm is how a provider names its keys (the kid).
type KeyIDForm string

// Key ID forms.
const (
	KidThumbprint        KeyIDForm = "rfc7638"        // RFC 7638 thumbprint, 43 base64url characters
	KidBase64Padded      KeyIDForm = "base64-padded"  // 44 base64 characters ending in "=" (Cognito)
	KidSHA1Thumbprint    KeyIDForm = "sha1-base64url" // 27 base64url characters (Entra, like x5t)
	KidHex40             KeyIDForm = "hex40"          // 40 hexadecimal characters (Google)
	KidShortAlphanumeric KeyIDForm = "alnum21"        // 21 letters and digits (Auth0)
)

// Endpoints are an IdP's endpoint paths on its host; "{issuer}" stands for the issuer's path.
// An empty path means the provider has no such endpoint.
type Endpoints struct {
	Authorize, Token, Userinfo, JWKS string
	DeviceAuthorization              string
	DeviceVerification               string // the page where a person enters the user code
	Registration                     string
	Tokeninfo                        string // Google's introspection of opaque tokens
}

// Discovery says at which URLs the metadata documents are served. The OpenID Connect
// document at {issuer}/.well-known/openid-configuration is always served.
type Discovery struct {
	// OIDCPathInsertion also serves /.well-known/openid-configuration{path}.
	OIDCPathInsertion bool
	// RFC8414Inserted serves RFC 8414 metadata at /.well-known/oauth-authorization-server{path}
	// (for an issuer without a path, the only RFC 8414 URL).
	RFC8414Inserted bool
	// RFC8414Appended serves it at {issuer}/.well-known/oauth-authorization-server too.
	RFC8414Appended bool
	// CodeChallengeMethods is code_challenge_methods_supported; nil leaves the field out.
	CodeChallengeMethods []string
	// NoIssResponse leaves out RFC 9207: the authorization response carries no iss and the
	// metadata does not advertise authorization_response_iss_parameter_supported.
	NoIssResponse bool
}

// accessMarker is what tells this profile's access tokens from its ID tokens when the IdP
// itself reads one (userinfo): a header typ and/or a claim (with a value, or just present).
type accessMarker struct {
	typ, claim, value string
}

// Profile is how one identity provider issues tokens. Read one with LookupProfile; select it
// with WithProfile. Explicit options (WithAudience, WithTenantClaim, WithTokenTTLs,
// WithIssuerPath, …) override what a profile sets.
type Profile struct {
	Name     string
	Provider string // the product it stands for

	// IssuerPath is the issuer's path on the IdP's host ("" for the host alone), and
	// IssuerTrailingSlash whether the issuer ends in "/". The iss claim and the discovery
	// document's issuer are exactly that string.
	IssuerPath          string
	IssuerTrailingSlash bool
	Endpoints           Endpoints
	Discovery           Discovery

	// KeyID is the form of the signing keys' kid; EncryptionKey adds a use:enc RSA-OAEP key
	// to the JWKS; KeyIssuer adds an issuer member to each key; X5T sends the kid as x5t in
	// the access token's header too.
	KeyID         KeyIDForm
	EncryptionKey bool
	KeyIssuer     string
	X5T           bool

	// AccessToken is what an access token is; AccessTokenTyp its JWT header typ ("" leaves
	// typ out), IDTokenTyp the ID token's.
	AccessToken    AccessTokenFormat
	AccessTokenTyp string
	IDTokenTyp     string
	// OpaquePrefix starts every opaque access token (Google's "ya29.").
	OpaquePrefix string
	// AccessTTL is the access tokens' lifetime; with AccessTTLMax, each token lives a random
	// whole number of seconds between the two.
	AccessTTL, AccessTTLMax time.Duration

	// Audience is the access token's audience when the client names none ("": no aud claim),
	// and AudienceClaim the claim that proves a token was issued for the API: "aud", or
	// "client_id" where access tokens carry no audience (Cognito).
	Audience      string
	AudienceClaim string
	// Resource is what an RFC 8707 resource parameter does; AudienceParameter accepts
	// Auth0's audience parameter instead; UserinfoAudience adds {issuer}userinfo to aud when
	// openid is granted.
	Resource          ResourceRule
	AudienceParameter bool
	UserinfoAudience  bool

	// TenantClaim is where the deployment's tenant is (a custom claim the deployment adds:
	// no provider has a tenant claim of the deployment's own).
	TenantClaim string
	// TokenUse says the tokens carry token_use (access, id, refresh).
	TokenUse bool

	// DCR is how registration answers; CIMD accepts Client ID Metadata Documents;
	// DeviceGrant offers RFC 8628; PlainPKCE accepts the plain method; RefreshRotation makes
	// a used refresh token invalid (off: every refresh token of a login stays valid).
	DCR             DCRMode
	CIMD            bool
	DeviceGrant     bool
	PlainPKCE       bool
	RefreshRotation bool

	access   []claimRule // the access token's claims
	idExtra  []claimRule // added to the ID token
	marker   accessMarker
	apiScope string // scp when no API scope was asked for (Entra's {api}/.default)
}

// A fixed tenant and API of the Entra profiles: GUIDs of the kit's own making.
const (
	entraTenantID    = "4a7d8e2c-6b1f-4c3e-9a5d-0f2e1b3c4d5e"
	entraAPIClientID = "c0ffee00-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
)

var profiles = []Profile{
	{
		Name: ProfileGeneric, Provider: "the kit's own: RFC 9068 access tokens, every MCP authorization feature",
		Endpoints: Endpoints{Authorize: "{issuer}/authorize", Token: "{issuer}/token", Userinfo: "{issuer}/userinfo",
			JWKS: "{issuer}" + pathJWKS, DeviceAuthorization: "{issuer}/device_authorization", DeviceVerification: "{issuer}/device",
			Registration: "{issuer}/register"},
		Discovery:      Discovery{OIDCPathInsertion: true, RFC8414Inserted: true, RFC8414Appended: true, CodeChallengeMethods: []string{"S256"}},
		KeyID:          KidThumbprint,
		AccessToken:    AccessJWT,
		AccessTokenTyp: typAccessToken, IDTokenTyp: typJWT,
		AccessTTL: time.Hour,
		Audience:  DefaultAudience, AudienceClaim: "aud", Resource: ResourceAudience,
		TenantClaim: DefaultTenantClaim, TokenUse: true,
		DCR: DCROpen, CIMD: true, DeviceGrant: true, RefreshRotation: true,
		access: []claimRule{
			{"iss", fromIssuer}, {"sub", fromSubject}, {"aud", fromAudience}, {"exp", fromExpiry}, {"iat", fromIssuedAt},
			{"nbf", fromIssuedAt}, {"jti", fromRandom}, {"client_id", fromClientID}, {"auth_time", fromAuthTime},
			{"token_use", fromTokenUse}, {"scope", fromScopeString}, {"email", fromEmail}, {"groups", fromGroups},
		},
		marker: accessMarker{typ: typAccessToken, claim: "token_use", value: TokenUseAccess},
	},
	{
		Name: ProfileCognito, Provider: "Amazon Cognito user pools",
		IssuerPath: "/us-east-1_McpSso001", // https://cognito-idp.{region}.amazonaws.com/{userPoolId} [C1]
		Endpoints: Endpoints{
			Authorize: "/oauth2/authorize", Token: "/oauth2/token", // on the pool's domain [C7]
			Userinfo: "/oauth2/userInfo",               // path n/f in the sources
			JWKS:     "{issuer}/.well-known/jwks.json", // [C1]
			// No device grant (n/f); no registration endpoint [C10].
		},
		// Only {iss}/.well-known/openid-configuration [C7]; no RFC 8414 document [C8];
		// code_challenge_methods_supported absent [C7][C12]; RFC 9207 iss n/f.
		Discovery:   Discovery{NoIssResponse: true},
		KeyID:       KidBase64Padded, // e.g. 1234example= [C1]
		AccessToken: AccessJWT,
		// Header: kid and alg only, no typ [C1]; ID tokens likewise (n/f: kept as the access token's).
		AccessTokenTyp: "", IDTokenTyp: "",
		AccessTTL: time.Hour, // 1 h default, 5 min – 1 day per app client [C4][C1]
		// No aud unless a resource binding was requested; client_id proves the app client [C1][C11].
		Audience: "", AudienceClaim: "client_id", Resource: ResourceAudienceOnly, // resource → aud [C2], kept on refresh [C3]
		TenantClaim: "custom:tenant", // a custom: attribute [C14], put in access tokens by a pre-token trigger [C5]
		TokenUse:    true,            // token_use access / id [C1]
		DCR:         DCRNone,         // [C10]
		CIMD:        false,           // n/f
		DeviceGrant: false,           // n/f
		// Refresh-token rotation is optional [C3]: off, the default here.
		RefreshRotation: false,
		access: []claimRule{ // [C1]
			{"sub", fromSubject}, {"cognito:groups", fromGroups}, {"iss", fromIssuer}, {"version", fromValue(2)},
			{"client_id", fromClientID}, {"aud", fromAudience}, {"origin_jti", fromUUID}, {"event_id", fromUUID},
			{"token_use", fromTokenUse}, {"scope", fromScopeString}, {"auth_time", fromAuthTime}, {"exp", fromExpiry},
			{"iat", fromIssuedAt}, {"jti", fromUUID}, {"username", fromUsername},
		},
		// The ID token: aud is the client, with cognito:username and cognito:groups [C1].
		idExtra: []claimRule{{"cognito:username", fromUsername}, {"cognito:groups", fromGroups}},
		marker:  accessMarker{claim: "token_use", value: TokenUseAccess},
	},
	entraProfile(ProfileEntraV2),
	entraProfile(ProfileEntraV1),
	{
		Name: ProfileOkta, Provider: "Okta, custom authorization server (default)",
		IssuerPath: "/oauth2/default", // https://{domain}/oauth2/{authServerId} [O1]
		Endpoints: Endpoints{Authorize: "{issuer}/v1/authorize", Token: "{issuer}/v1/token", Userinfo: "{issuer}/v1/userinfo",
			JWKS:                "{issuer}/v1/keys",             // [X1]
			DeviceAuthorization: "{issuer}/v1/device/authorize", // device grant yes [X1]; path n/f
			DeviceVerification:  "/activate",                    // path n/f
			Registration:        "/oauth2/v1/clients",           // [X1]
		},
		// Both documents under the issuer [O1]; no RFC 8414 path-insertion form [O8]; S256 [X1].
		Discovery:   Discovery{RFC8414Appended: true, CodeChallengeMethods: []string{"S256"}},
		KeyID:       KidThumbprint, // n/f
		AccessToken: AccessJWT,     // custom AS access tokens are JWTs [O2]
		// Header: alg and kid only [O2].
		AccessTokenTyp: "", IDTokenTyp: "",
		AccessTTL: time.Hour, // custom AS: 5 min – 24 h; 1 h here [O3]
		// aud is the authorization server's audience (api://default in the example config) [O2][O5];
		// RFC 8707 n/f, so resource is ignored [O8].
		Audience: "api://default", AudienceClaim: "aud", Resource: ResourceIgnored,
		TenantClaim: DefaultTenantClaim, // a custom claim of the custom AS [O2]; none of Okta's own (n/f)
		DCR:         DCRAdminToken,      // needs an admin SSWS/OAuth token [O6][O7]
		CIMD:        false,              // n/f
		DeviceGrant: true,               // [X1]
		// ROTATE or STATIC [O10]: ROTATE here.
		RefreshRotation: true,
		access: []claimRule{ // [O2]
			{"ver", fromValue(1)}, {"jti", fromOktaJTI}, {"iss", fromIssuer}, {"aud", fromAudience}, {"sub", fromSubject},
			{"iat", fromIssuedAt}, {"exp", fromExpiry}, {"cid", fromClientID}, {"uid", fromOktaUID},
			{"scp", fromScopeArray}, {"auth_time", fromAuthTime},
		},
		idExtra: []claimRule{{"ver", fromValue(1)}},
		marker:  accessMarker{claim: "cid"},
	},
	{
		Name: ProfileAuth0, Provider: "Auth0",
		IssuerTrailingSlash: true, // https://{tenant}.auth0.com/ [A1][X1]
		Endpoints: Endpoints{Authorize: "/authorize", Token: "/oauth/token", Userinfo: "/userinfo", // [X1]
			JWKS: "/.well-known/jwks.json", DeviceAuthorization: "/oauth/device/code", DeviceVerification: "/activate",
			Registration: "/oidc/register"},
		// RFC 8414 n/f; S256 and plain [X1].
		Discovery:   Discovery{CodeChallengeMethods: []string{"S256", "plain"}},
		KeyID:       KidShortAlphanumeric, // e.g. tMQzailSAdaW4nojXxES9 [X1]
		AccessToken: AccessOpaqueWithoutAudience,
		// typ JWT (the Auth0 token profile) [A1].
		AccessTokenTyp: typJWT, IDTokenTyp: typJWT,
		OpaquePrefix: "",
		AccessTTL:    86400 * time.Second, // [A6][X1]
		// audience is native; resource is ignored without the compatibility profile [A2][A11];
		// aud holds {issuer}userinfo too when openid is granted [A13].
		Audience: DefaultAudience, AudienceClaim: "aud", Resource: ResourceIgnored,
		AudienceParameter: true, UserinfoAudience: true,
		TenantClaim: "https://mcpsso.example/tenant", // namespaced custom claims [A7]
		// Off by default, open when on [A3]: on, as MCP deployments turn it on.
		DCR:         DCROpen,
		CIMD:        false, // manual import only [A4][A5]
		DeviceGrant: true,  // [X1]
		PlainPKCE:   true,  // plain advertised [X1]
		// Rotation is supported [A9]: on here.
		RefreshRotation: true,
		access: []claimRule{ // Auth0 token profile [A1]; gty appears for non-interactive grants only (client-credentials in [X1])
			{"iss", fromIssuer}, {"sub", fromSubject}, {"aud", fromAudience}, {"iat", fromIssuedAt}, {"exp", fromExpiry},
			{"scope", fromScopeString}, {"azp", fromClientID},
		},
		marker: accessMarker{claim: "azp"},
	},
	{
		Name: ProfileKeycloak, Provider: "Keycloak 26.x",
		IssuerPath: "/realms/mcpsso", // https://{host}/realms/{realm} [K16]
		Endpoints: Endpoints{
			Authorize: "{issuer}/protocol/openid-connect/auth", Token: "{issuer}/protocol/openid-connect/token",
			Userinfo: "{issuer}/protocol/openid-connect/userinfo",
			JWKS:     "{issuer}/protocol/openid-connect/certs", // [X1]
			// Device grant yes [X1]; paths n/f.
			DeviceAuthorization: "{issuer}/protocol/openid-connect/auth/device", DeviceVerification: "{issuer}/device",
			Registration: "{issuer}/clients-registrations/openid-connect", // DCR yes [K1]; path n/f
		},
		// RFC 8414 under the realm, and path-inserted at the root since 26.4.0 [K3];
		// plain and S256 [K2].
		Discovery:     Discovery{RFC8414Inserted: true, RFC8414Appended: true, CodeChallengeMethods: []string{"plain", "S256"}},
		KeyID:         KidThumbprint, // random base64url [X1]
		EncryptionKey: true,          // use:enc RSA-OAEP keys in the JWKS [X1]
		AccessToken:   AccessJWT,
		// typ JWT by default, at+jwt per client [K7].
		AccessTokenTyp: typJWT, IDTokenTyp: typJWT,
		AccessTTL: 300 * time.Second, // accessTokenLifespan [K9]
		// aud is "account" (Audience Resolve) unless a mapper sets it [K5]; resource indicators
		// are an experimental feature, off [K1]: ignored.
		Audience: "account", AudienceClaim: "aud", Resource: ResourceIgnored,
		TenantClaim: DefaultTenantClaim, // a user-attribute mapper; no tenant claim of Keycloak's own
		DCR:         DCRStrict,          // unknown members → 400 Unrecognized field [K11][K12]
		CIMD:        false,              // experimental feature, off [K1]
		DeviceGrant: true,               // [X1]
		PlainPKCE:   true,               // [K2]
		// "Revoke Refresh Token" defaults to false [K9]: old refresh tokens stay valid.
		RefreshRotation: false,
		access: []claimRule{ // [K6][K17]
			{"exp", fromExpiry}, {"iat", fromIssuedAt}, {"jti", fromUUID}, {"iss", fromIssuer}, {"aud", fromAudience},
			{"sub", fromSubject}, {"typ", fromValue("Bearer")}, {"azp", fromClientID}, {"sid", fromUUID},
			{"acr", fromValue("1")}, {"realm_access", fromRealmRoles},
			{"resource_access", fromValue(map[string]any{"account": map[string]any{"roles": []string{"manage-account", "manage-account-links", "view-profile"}}})},
			{"scope", fromScopeString}, {"email_verified", fromEmailVerified}, {"name", fromName},
			{"preferred_username", fromUsername}, {"email", fromEmail},
		},
		idExtra: []claimRule{{"typ", fromValue("ID")}},
		marker:  accessMarker{claim: "typ", value: "Bearer"},
	},
	{
		Name: ProfileGoogle, Provider: "Google (accounts.google.com)",
		// https://accounts.google.com: no path, no trailing slash [G1].
		Endpoints: Endpoints{Authorize: "/o/oauth2/v2/auth", Token: "/token", Userinfo: "/v1/userinfo", // paths n/f
			JWKS:                "/oauth2/v3/certs",                            // www.googleapis.com/oauth2/v3/certs [G1][X1]
			DeviceAuthorization: "/device/code", DeviceVerification: "/device", // device grant yes [X1]; paths n/f
			Tokeninfo: "/tokeninfo", // [G3][G4]
		},
		// RFC 8414 served with the same issuer [G5]; plain and S256 [X1].
		Discovery:   Discovery{RFC8414Inserted: true, CodeChallengeMethods: []string{"plain", "S256"}},
		KeyID:       KidHex40,     // 40 hex characters [X1]
		AccessToken: AccessOpaque, // [G3]
		IDTokenTyp:  typJWT,       // RS256 JWT [G2]
		// ya29. is how Google's access tokens start (n/f in the sources).
		OpaquePrefix: "ya29.",
		AccessTTL:    time.Hour, // n/f (official): the kit's 1 h
		// tokeninfo's aud and azp are the client id [G4]; resource n/f: ignored.
		Audience: DefaultAudience, AudienceClaim: "aud", Resource: ResourceIgnored,
		TenantClaim: "hd",    // the Workspace domain, in the ID token [G2]
		DCR:         DCRNone, // [G7]
		CIMD:        false,   // n/f
		DeviceGrant: true,    // [X1]
		PlainPKCE:   true,    // [X1]
		// Rotation n/f: the kit's rotation.
		RefreshRotation: true,
		// What tokeninfo says of an access token [G4].
		access: []claimRule{
			{"azp", fromClientID}, {"aud", fromClientID}, {"sub", fromSubject}, {"scope", fromScopeString},
			{"exp", fromExpiry}, {"email", fromEmail}, {"email_verified", fromEmailVerified}, {"access_type", fromAccessType},
		},
	},
}

// entraProfile is one of Entra's two token versions: the API's accessTokenAcceptedVersion
// decides which one a client gets, and the deployment validates it with that version's
// metadata [E2].
func entraProfile(name string) Profile {
	p := Profile{
		Name: name,
		Endpoints: Endpoints{
			Userinfo:           "/oidc/userinfo", // Graph's (n/f in the sources)
			DeviceVerification: "/devicelogin",   // n/f
		},
		// No RFC 8414 (n/f), code_challenge_methods_supported absent [X1][E3]; RFC 9207 iss n/f.
		Discovery:      Discovery{NoIssResponse: true},
		KeyID:          KidSHA1Thumbprint, // e.g. i6lGk3FZzxRcUb2C3nEQ7syHJlY [E1][E2]
		KeyIssuer:      "{host}/{tenantid}/v2.0",
		AccessToken:    AccessJWT, // for your own APIs [E2]
		AccessTTL:      60 * time.Minute,
		AccessTTLMax:   90 * time.Minute,           // random 60–90 min [E2]
		AccessTokenTyp: typJWT, IDTokenTyp: typJWT, // [E1][E2]
		AudienceClaim: "aud",
		TenantClaim:   DefaultTenantClaim, // a claims-mapping custom claim (n/f): tid is the directory [E1]
		DCR:           DCRNone,            // [E8][E11]
		CIMD:          false,              // public preview only [E10]
		DeviceGrant:   true,               // [X1]
		// Rotation n/f: the kit's rotation.
		RefreshRotation: true,
		apiScope:        "access_as_user",
		marker:          accessMarker{claim: "scp"},
	}
	if name == ProfileEntraV2 {
		p.Provider = "Microsoft Entra ID, v2.0 access tokens"
		p.IssuerPath = "/" + entraTenantID + "/v2.0" // https://login.microsoftonline.com/{tid}/v2.0 [E2]
		p.Endpoints.Authorize = "/" + entraTenantID + "/oauth2/v2.0/authorize"
		p.Endpoints.Token = "/" + entraTenantID + "/oauth2/v2.0/token"
		p.Endpoints.DeviceAuthorization = "/" + entraTenantID + "/oauth2/v2.0/devicecode"
		p.Endpoints.JWKS = "/" + entraTenantID + "/discovery/v2.0/keys" // [E2]
		p.Audience = entraAPIClientID                                   // v2: the API's client-id GUID [E1]
		p.Resource = ResourceRefused                                    // AADSTS901002 [E7][E8]
		p.access = []claimRule{                                         // [E1]
			{"aud", fromAudience}, {"iss", fromIssuer}, {"iat", fromIssuedAt}, {"nbf", fromIssuedAt}, {"exp", fromExpiry},
			{"azp", fromClientID}, {"azpacr", fromClientAuth}, {"name", fromName}, {"oid", fromObjectID},
			{"preferred_username", fromPreferredUsername}, {"scp", fromAPIScopes}, {"sub", fromSubject},
			{"tid", fromValue(entraTenantID)}, {"uti", fromUTI}, {"ver", fromValue("2.0")},
		}
		p.idExtra = []claimRule{{"oid", fromObjectID}, {"tid", fromValue(entraTenantID)}, {"ver", fromValue("2.0")}}
		return p
	}
	p.Provider = "Microsoft Entra ID, v1.0 access tokens"
	p.IssuerPath = "/" + entraTenantID // https://sts.windows.net/{tid}/ [E2]
	p.IssuerTrailingSlash = true
	p.Endpoints.Authorize = "/" + entraTenantID + "/oauth2/authorize"
	p.Endpoints.Token = "/" + entraTenantID + "/oauth2/token"
	p.Endpoints.DeviceAuthorization = "/" + entraTenantID + "/oauth2/devicecode"
	p.Endpoints.JWKS = "/" + entraTenantID + "/discovery/keys"
	p.X5T = true                        // v1 also sends x5t [E1][E2]
	p.Audience = DefaultAudience        // v1: the App ID URI (or GUID) [E1]
	p.Resource = ResourceMustBeAudience // must name the app registration, else AADSTS500011 [E9][E12]
	p.access = []claimRule{             // [E1]
		{"aud", fromAudience}, {"iss", fromIssuer}, {"iat", fromIssuedAt}, {"nbf", fromIssuedAt}, {"exp", fromExpiry},
		{"acr", fromValue("1")}, {"amr", fromValue([]string{"pwd"})}, {"appid", fromClientID}, {"appidacr", fromClientAuth},
		{"name", fromName}, {"oid", fromObjectID}, {"scp", fromAPIScopes}, {"sub", fromSubject},
		{"tid", fromValue(entraTenantID)}, {"unique_name", fromPreferredUsername}, {"upn", fromPreferredUsername},
		{"uti", fromUTI}, {"ver", fromValue("1.0")},
	}
	p.idExtra = []claimRule{{"oid", fromObjectID}, {"tid", fromValue(entraTenantID)}, {"ver", fromValue("1.0")}}
	return p
}

// ProfileNames lists the profiles, generic first.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return names
}

// LookupProfile returns a copy of the named profile, or an error listing the names.
func LookupProfile(name string) (Profile, error) {
	for _, p := range profiles {
		if p.Name == name {
			return p.clone(), nil
		}
	}
	return Profile{}, fmt.Errorf("IdP profile %q: unknown (profiles: %s)", name, strings.Join(ProfileNames(), ", "))
}

func (p Profile) clone() Profile {
	p.Discovery.CodeChallengeMethods = slices.Clone(p.Discovery.CodeChallengeMethods)
	p.access = slices.Clone(p.access)
	p.idExtra = slices.Clone(p.idExtra)
	return p
}

// WithProfile makes the IdP issue tokens as the named provider does (default "generic", the
// kit's own). Options given with it override what it sets, in whichever order they come.
func WithProfile(name string) Option {
	return func(c *config) error {
		p, err := LookupProfile(name)
		if err != nil {
			return fmt.Errorf("mockidp: %w", err)
		}
		c.profile = &p
		return nil
	}
}

// Issuer is the issuer this profile gives an IdP served at base (scheme://host[:port]): the
// base, the profile's path, and its trailing slash.
func (p Profile) Issuer(base string) string {
	iss := strings.TrimSuffix(base, "/") + p.IssuerPath
	if p.IssuerTrailingSlash {
		iss += "/"
	}
	return iss
}

// JWKSPath is the path of the keys on the IdP's host when the issuer has the profile's own
// path (Profile.Issuer): what a verifier that reaches the IdP by another name fetches.
func (p Profile) JWKSPath() string {
	return strings.ReplaceAll(p.Endpoints.JWKS, "{issuer}", p.IssuerPath)
}

// ScopeClaim names the access token's scope claim ("scope", Okta's and Entra's "scp"; "" when
// access tokens are opaque) and says whether it is a JSON array (Okta) or a space-separated
// string.
func (p Profile) ScopeClaim() (name string, array bool) {
	for _, r := range p.access {
		switch r.from.kind {
		case srcScopeString, srcAPIScopes:
			return r.name, false
		case srcScopeArray:
			return r.name, true
		}
	}
	return "", false
}

// ClientIDClaim names the claim of the access token that carries the client's ID (client_id,
// Okta's cid, Entra's azp or appid, Auth0's and Keycloak's azp).
func (p Profile) ClientIDClaim() string {
	for _, r := range p.access {
		if r.from.kind == srcClientID {
			return r.name
		}
	}
	return ""
}

// AccessClaims lists the claims an access token of this profile may carry (those of the
// user's own, the tenant's and any extra claims aside), in the profile's order.
func (p Profile) AccessClaims() []string {
	names := make([]string, len(p.access))
	for i, r := range p.access {
		names[i] = r.name
	}
	return names
}
