package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// defaultTokenScope is what mcpsso token asks for unless told otherwise.
const defaultTokenScope = "openid profile email offline_access"

type tokenFlags struct {
	user          string
	issuer        string
	clientID      string
	clientSecret  string
	scope         string
	resource      string
	json          bool
	noAutoApprove bool
	timeout       time.Duration
}

func newTokenCommand() *cobra.Command {
	var f tokenFlags
	cmd := &cobra.Command{
		Use:   "token --user U [--issuer URL] [--json]",
		Short: "Get an access token from the IdP (device grant)",
		Long: `Get an access token for a user through the device authorization grant (RFC 8628) and print
only the access token on stdout, so $(mcpsso token --user alice) works. --json prints the whole
token response instead (access, ID and refresh tokens, expires_in in seconds, scope).

--issuer names the IdP. Without it: $MCPSSO_ISSUER when set, else the IdP of the running
"mcpsso up", which records its issuer (and the scopes its MCP resource requires, asked for
unless --scope says otherwise) in a state file while it runs: $MCPSSO_UP_STATE, else
$XDG_RUNTIME_DIR/mcpsso/up.json, else mcpsso/up.json in the user's cache directory. With none
running (no file, or one whose up is gone) it exits 2 saying how to start one.

When the IdP is the mock IdP ("mcpsso idp serve",
"mcpsso up"), the code is approved at once as --user, through the IdP's device page; a mock IdP
whose --idp-profile has no device grant (cognito) signs --user in through its authorization
endpoint instead (auth code with PKCE and login_hint). Against
any other IdP the command prints the verification URL and code on stderr and waits until you
approve it in a browser (--user is then only a reminder of whom to sign in as).

Only an explicitly empty --issuer "" starts an embedded mock IdP for the one request. Its keys
vanish when the command exits, so that token verifies nowhere: use it to look at the claims.

Exit status: 0 with a token; 1 when none could be had (IdP unreachable, code denied or expired,
timeout); 2 on invalid input (bad flags, unknown user or client, a scope the IdP refuses).`,
		Example: `  # Against the running mcpsso up (found through its state file)
  curl -H "Authorization: Bearer $(mcpsso token --user alice)" http://127.0.0.1:8480/mcp

  # Against a running mock IdP
  export MCPSSO_ISSUER=http://127.0.0.1:8400
  mcpsso token --user alice

  # The whole response, for a given MCP resource
  mcpsso token --user bob --resource http://127.0.0.1:8080/mcp --json

  # Look at the claims of a token from a throwaway embedded IdP
  mcpsso token --user dave --issuer "" | cut -d. -f2 | base64 -d 2>/dev/null

  # A real IdP: prints where to approve, then waits
  mcpsso token --user me@example.com --issuer https://login.example.com --client-id my-cli`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("issuer") {
				if f.issuer = os.Getenv("MCPSSO_ISSUER"); f.issuer == "" {
					if f.user == "" {
						return errors.New("--user: required, e.g. --user alice")
					}
					up, err := runningUp()
					if err != nil {
						return err
					}
					f.issuer = up.Issuer
					if !cmd.Flags().Changed("scope") && len(up.Scopes) > 0 {
						f.scope = defaultTokenScope + " " + strings.Join(up.Scopes, " ")
					}
				}
			}
			return runToken(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "user to get the token for: username, email or subject (required)")
	fl.StringVar(&f.issuer, "issuer", "", "issuer URL of the IdP (default $MCPSSO_ISSUER, else the running mcpsso up's; \"\": a throwaway embedded mock IdP)")
	fl.StringVar(&f.clientID, "client-id", mockidp.PublicClientID, "OAuth client ID")
	fl.StringVar(&f.clientSecret, "client-secret", "", "client secret, for a confidential client")
	fl.StringVar(&f.scope, "scope", defaultTokenScope, "space-separated scopes")
	fl.StringVar(&f.resource, "resource", "", "RFC 8707 resource (the token's audience); default: the IdP's default audience")
	fl.BoolVar(&f.json, "json", false, "print the whole token response as JSON")
	fl.BoolVar(&f.noAutoApprove, "no-auto-approve", false, "even on the mock IdP, print the code and wait for approval in a browser")
	fl.DurationVar(&f.timeout, "timeout", 15*time.Minute, "how long to wait for approval")
	return cmd
}

// tokenOutput is the --json output: the token response as the IdP sent it.
type tokenOutput struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func runToken(cmd *cobra.Command, f tokenFlags) error {
	if f.user == "" {
		return errors.New("--user: required, e.g. --user alice")
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", f.timeout)
	}
	if f.resource != "" {
		if u, err := url.Parse(f.resource); err != nil || !u.IsAbs() || u.Fragment != "" {
			return fmt.Errorf("--resource %q: must be an absolute URI without a fragment (RFC 8707)", f.resource)
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()

	issuer := f.issuer
	if issuer == "" {
		idp, err := mockidp.Start(ctx, mockidp.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			return failure{fmt.Errorf("embedded IdP: %w", err)}
		}
		defer idp.Close()
		if _, ok := idp.User(f.user); !ok {
			return fmt.Errorf("--user %q: not a user of the embedded IdP (users: %s)", f.user, usernames(idp.Users()))
		}
		issuer = idp.IssuerURL()
	} else if u, err := url.Parse(issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--issuer %q: must be an http or https URL", issuer)
	}

	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return failure{fmt.Errorf("--issuer %s: discovery: %w", issuer, err)}
	}
	var md struct {
		TestIdP bool `json:"mcpsso_test_idp"`
	}
	if err := provider.Claims(&md); err != nil {
		return failure{fmt.Errorf("--issuer %s: metadata: %w", issuer, err)}
	}
	endpoint := provider.Endpoint()
	if f.clientSecret == "" {
		endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client has nothing to put in HTTP Basic
	}
	conf := &oauth2.Config{ClientID: f.clientID, ClientSecret: f.clientSecret, Endpoint: endpoint, Scopes: strings.Fields(f.scope)}
	var opts []oauth2.AuthCodeOption
	if f.resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", f.resource))
	}
	if endpoint.DeviceAuthURL == "" {
		if !md.TestIdP || f.noAutoApprove {
			return failure{fmt.Errorf("--issuer %s: the IdP advertises no device_authorization_endpoint: it does not offer the device grant", issuer)}
		}
		// A mock IdP whose profile has no device grant (Cognito's): sign in through its
		// authorization endpoint, which logs in the user login_hint names at once.
		conf.RedirectURL = "http://127.0.0.1/callback"
		tok, err := mockidp.SignInWithLoginHint(ctx, conf, f.user, opts...)
		if err != nil {
			if errors.Is(err, mockidp.ErrUnknownUser) {
				return fmt.Errorf("--user %q: not a user of the IdP at %s", f.user, issuer)
			}
			return oauthFailure("sign-in", err)
		}
		return printToken(cmd.OutOrStdout(), tok, f.json)
	}

	deviceOpts := opts
	if f.clientSecret != "" {
		// x/oauth2 sends only client_id here; a confidential client must authenticate
		// (RFC 8628 §3.1).
		deviceOpts = append(slices.Clone(opts), oauth2.SetAuthURLParam("client_secret", f.clientSecret))
	}
	da, err := conf.DeviceAuth(ctx, deviceOpts...)
	if err != nil {
		return oauthFailure("device authorization", err)
	}
	if md.TestIdP && !f.noAutoApprove {
		if err := approveOnMockIdP(ctx, da, f.user); err != nil {
			return err
		}
	} else {
		stderr := cmd.ErrOrStderr()
		fmt.Fprintf(stderr, "To sign in as %s, open %s and enter the code %s\n", f.user, da.VerificationURI, da.UserCode)
		if da.VerificationURIComplete != "" {
			fmt.Fprintf(stderr, "or open %s\n", da.VerificationURIComplete)
		}
		fmt.Fprintf(stderr, "waiting for approval (up to %v)...\n", f.timeout)
	}
	tok, err := conf.DeviceAccessToken(ctx, da, opts...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return failure{fmt.Errorf("no approval within %v (or before the code expired)", f.timeout)}
		}
		return oauthFailure("token", err)
	}
	return printToken(cmd.OutOrStdout(), tok, f.json)
}

// printToken prints the access token alone, or with --json the whole response.
func printToken(out io.Writer, tok *oauth2.Token, asJSON bool) error {
	if !asJSON {
		fmt.Fprintln(out, tok.AccessToken)
		return nil
	}
	res := tokenOutput{AccessToken: tok.AccessToken, TokenType: tok.TokenType, ExpiresIn: tok.ExpiresIn, RefreshToken: tok.RefreshToken}
	res.IDToken, _ = tok.Extra("id_token").(string)
	res.Scope, _ = tok.Extra("scope").(string)
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// approveOnMockIdP approves the device code as user by posting the mock IdP's device page,
// exactly what a person's click does, asking for a JSON answer.
func approveOnMockIdP(ctx context.Context, da *oauth2.DeviceAuthResponse, user string) error {
	form := url.Values{"user_code": {da.UserCode}, "login_as": {user}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, da.VerificationURI, strings.NewReader(form.Encode()))
	if err != nil {
		return failure{err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failure{fmt.Errorf("approving the device code at %s: %w", da.VerificationURI, err)}
	}
	defer resp.Body.Close()
	var answer struct {
		Decision    string `json:"decision"`
		Description string `json:"error_description"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = json.Unmarshal(body, &answer)
	switch {
	case resp.StatusCode == http.StatusOK && answer.Decision == "allow":
		return nil
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(answer.Description, "unknown user"):
		return fmt.Errorf("--user %q: %s", user, strings.TrimPrefix(answer.Description, "mockidp: ApproveDevice: "))
	default:
		return failure{fmt.Errorf("approving the device code at %s: HTTP %d: %s", da.VerificationURI, resp.StatusCode, strings.TrimSpace(string(body)))}
	}
}

// oauthFailure maps an IdP's OAuth error: one about our input is an input error (exit 2),
// anything else a failure (exit 1).
func oauthFailure(step string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		e := fmt.Errorf("%s: the IdP answered %s: %s", step, re.ErrorCode, re.ErrorDescription)
		if slices.Contains([]string{"invalid_client", "invalid_scope", "invalid_target", "invalid_request", "unauthorized_client"}, re.ErrorCode) {
			return e
		}
		return failure{e}
	}
	return failure{fmt.Errorf("%s: %w", step, err)}
}

func usernames(users []mockidp.User) string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	return strings.Join(names, ", ")
}
