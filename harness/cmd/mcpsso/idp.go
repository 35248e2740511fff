package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

func newIdPCommand() *cobra.Command {
	cmd := groupCommand("idp", "Run the mock OIDC identity provider",
		`The mock IdP is the OpenID Connect provider every scenario logs in through: test users with
tenant claims, the device grant (RFC 8628), auth code with PKCE for public clients, Dynamic
Client Registration, RFC 9068 access tokens (typ at+jwt, audience api://quilt-mcp) signed with
RS256 or ES256. It is a test IdP: there are no passwords, anyone can sign in as any test user.`)
	cmd.Example = `  mcpsso idp serve
  mcpsso token --user alice --issuer http://127.0.0.1:8400`
	cmd.AddCommand(newIdPServeCommand())
	return cmd
}

type idpServeFlags struct {
	addr        string
	issuerURL   string
	issuerPath  string
	audience    string
	alg         string
	tenantClaim string
	logLevel    string
	config      string
	profile     string
	signingKey  string
}

func newIdPServeCommand() *cobra.Command {
	var f idpServeFlags
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--config F|default] [--idp-profile NAME] [--audience URI] [--alg RS256|ES256 | --signing-key F]",
		Short: "Serve the mock IdP until interrupted",
		Long: `Serve the mock OpenID Connect IdP until Ctrl-C.

When it accepts connections it prints "ready <issuer URL>" on stdout, then its users and
clients, and an export line for MCPSSO_ISSUER (which "mcpsso token" reads). Decisions are logged
as JSON lines on stderr (keys: request_id, decision, reason, sub, client_id); tokens, codes and
secrets never are.

Clients: mcpsso-cli is public (device grant; auth code with PKCE S256 from any loopback
redirect URI, any port); mcpsso-demo is confidential with the secret mcpsso-demo-secret (HTTP
Basic or form). MCP clients may also register themselves (RFC 7591). Login pages list the test
users with one button each; the device page is at <issuer>/device.

Endpoints under the issuer: /.well-known/openid-configuration (and RFC 8414's
/.well-known/oauth-authorization-server), /.well-known/jwks.json, /authorize, /token,
/userinfo, /device_authorization, /device, /register.

The users are the built-in ones (alice@acme, bob@globex, carol without a tenant, dave@acme whose
subject is Auth0-style "auth0|..."), or those of a fixture with --config (see "mcpsso fixture"),
whose MCP scopes (its mcp section) the IdP then grants too.

The endpoints above are the generic profile's; another profile moves them.

` + idpProfileHelp() + `
A profile sets the defaults of --audience and --tenant-claim (and the issuer's path, unless
--issuer-url or --issuer-path gives one); those flags, when given, override it.

The signing key is generated at start (--alg chooses its type), or read from --signing-key: a
PEM private key (PKCS #8, PKCS #1 RSA or SEC 1 EC; RSA of at least 2048 bits, or P-256), whose
type sets the algorithm. A test that holds the key can then sign tokens this IdP's JWKS
verifies, as the containers topology does to forge tokens for its IdP container.`,
		Example: `  mcpsso idp serve > idp.out &
  until grep -q '^ready ' idp.out; do sleep 0.1; done
  export MCPSSO_ISSUER=$(sed -n 's/^ready //p' idp.out)
  mcpsso token --user alice        # a token from that IdP (it reads MCPSSO_ISSUER)

  # An ES256 IdP behind a container name, with the tenant in an "org" claim
  mcpsso idp serve --addr 0.0.0.0:8400 --issuer-url http://idp:8400 --alg ES256 --tenant-claim org

  # Tokens as Amazon Cognito issues them (issuer http://127.0.0.1:8400/us-east-1_McpSso001)
  mcpsso idp serve --idp-profile cognito`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runIdPServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", mockidp.DefaultAddr, "listen address HOST:PORT")
	fl.StringVar(&f.issuerURL, "issuer-url", "", "issuer URL when clients reach the IdP by another name (proxy, container); default http://<addr>")
	fl.StringVar(&f.issuerPath, "issuer-path", "", "serve under a path, e.g. /realms/test (issuer http://<addr>/realms/test)")
	fl.StringVar(&f.audience, "audience", "", "access-token audience when a client names no resource (default: the profile's; generic: "+mockidp.DefaultAudience+")")
	fl.StringVar(&f.alg, "alg", mockidp.RS256, "signing algorithm: RS256 or ES256")
	fl.StringVar(&f.tenantClaim, "tenant-claim", "", "name of the claim that carries the tenant (default: the profile's; generic: "+mockidp.DefaultTenantClaim+")")
	addIdPProfileFlag(cmd, &f.profile)
	fl.StringVar(&f.logLevel, "log-level", "info", "decision log level: debug, info, warn, error")
	fl.StringVar(&f.config, "config", "", `take the users from this fixture (YAML), or "default" for the embedded one`)
	fl.StringVar(&f.signingKey, "signing-key", "", "sign with this PEM private key (RSA ≥ 2048 bits or P-256) instead of a generated one")
	cmd.MarkFlagsMutuallyExclusive("alg", "signing-key")
	return cmd
}

func runIdPServe(cmd *cobra.Command, f idpServeFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.logLevel)
	}
	if err := checkIdPProfile(f.profile); err != nil {
		return err
	}
	opts := []mockidp.Option{
		mockidp.WithAddr(f.addr),
		mockidp.WithProfile(f.profile),
		mockidp.WithSigningAlgorithm(f.alg),
		mockidp.WithLogger(slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))),
	}
	// The profile decides these unless they are given.
	if cmd.Flags().Changed("audience") {
		opts = append(opts, mockidp.WithAudience(f.audience))
	}
	if cmd.Flags().Changed("tenant-claim") {
		opts = append(opts, mockidp.WithTenantClaim(f.tenantClaim))
	}
	if f.signingKey != "" {
		key, err := loadSigningKey(f.signingKey)
		if err != nil {
			return err
		}
		opts = append(opts, mockidp.WithSigningKey(key)) // after WithSigningAlgorithm: the key's type wins
	}
	if f.config != "" {
		fx, err := loadFixture(f.config)
		if err != nil {
			return err
		}
		// Its users, and the scopes its MCP resource requires, which clients may then ask for.
		opts = append(opts, mockidp.WithUsers(stack.IdPUsers(fx)...), mockidp.WithScopes(fx.MCP.Scopes...))
	}
	if f.issuerURL != "" {
		opts = append(opts, mockidp.WithIssuerURL(f.issuerURL))
	}
	if f.issuerPath != "" {
		opts = append(opts, mockidp.WithIssuerPath(f.issuerPath))
	}
	ctx := cmd.Context()
	s, err := mockidp.Start(ctx, opts...)
	if err != nil {
		if errors.As(err, new(*net.OpError)) {
			return failure{err}
		}
		return err
	}
	defer s.Close()
	printIdPReady(cmd.OutOrStdout(), s)
	<-ctx.Done()
	return shutDown(s)
}

func printIdPReady(w io.Writer, s *mockidp.Server) {
	fmt.Fprintf(w, "ready %s\n", s.IssuerURL())
	fmt.Fprintf(w, "discovery %s\n", s.DiscoveryURL())
	if prof := s.Profile(); prof.Name != mockidp.ProfileGeneric {
		fmt.Fprintf(w, "profile %s (%s)\n", prof.Name, prof.Provider)
	}
	audience := s.Audience()
	if audience == "" {
		audience = "(none unless the client names a resource)"
	}
	fmt.Fprintf(w, "audience %s (tenant claim %q)\n", audience, s.TenantClaim())
	for _, u := range s.Users() {
		tenant := u.Tenant
		if tenant == "" {
			tenant = "(none)"
		}
		fmt.Fprintf(w, "user %s sub=%s email=%s tenant=%s groups=%s\n", u.Username, u.Subject, u.Email, tenant, strings.Join(u.Groups, ","))
	}
	for _, c := range s.Clients() {
		kind := "public (PKCE S256 required)"
		if !c.Public() {
			kind = "confidential, secret " + c.Secret
		}
		redirects := strings.Join(c.RedirectURIs, " ")
		if c.AnyLoopbackRedirect {
			redirects = strings.TrimSpace("any loopback http URI " + redirects)
		}
		fmt.Fprintf(w, "client %s %s; redirect URIs: %s\n", c.ID, kind, redirects)
	}
	if u := s.DeviceVerificationURL(); u != "" {
		fmt.Fprintf(w, "device verification %s\n", u)
	}
	fmt.Fprintf(w, "export MCPSSO_ISSUER=%s\n", s.IssuerURL())
}

// loadSigningKey reads the IdP's private key from a PEM file: PKCS #8 ("PRIVATE KEY", what
// openssl genpkey writes), PKCS #1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Whether the
// key is one the IdP signs with (RSA ≥ 2048 bits, P-256) is mockidp.WithSigningKey's to say.
func loadSigningKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("--signing-key %s: no PEM block in the file (want a PEM private key)", path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf(`--signing-key %s: a PEM block of type %q; want "PRIVATE KEY" (PKCS #8), "RSA PRIVATE KEY" or "EC PRIVATE KEY"`, path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("--signing-key %s: the %s block does not parse: %v", path, block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("--signing-key %s: a %T cannot sign", path, key)
	}
	return signer, nil
}
