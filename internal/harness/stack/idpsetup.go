package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

// IdPSetup is how the reference deployment sets up each IdP profile's provider so that MCP
// clients can work with it (docs/idps.md, "What breaks and the fix"): the provider settings an
// administrator makes, and the gateway workaround where no setting exists.
type IdPSetup struct {
	// AudienceIsMCPURL: the IdP's audience for the MCP server is set to the MCP URL (Okta's
	// custom authorization server audience, Keycloak's Audience mapper, Auth0's API
	// identifier, Entra v1's App ID URI), so a token carries the audience that the protected
	// resource metadata names, also after a refresh that names no resource.
	AudienceIsMCPURL bool
	// ResourceCompatibility: Auth0's Resource Parameter Compatibility Profile is on, so an MCP
	// client's resource (it sends no audience) yields a JWT for the MCP server, not an opaque
	// token.
	ResourceCompatibility bool
	// OwnASMetadata: the IdP's metadata lacks code_challenge_methods_supported (no setting adds
	// it), so the gateway serves the deployment's own copy with S256
	// (gateway.ServeAuthorizationServerMetadata).
	OwnASMetadata bool
}

// IdPSetupFor is the reference deployment's setup for an IdP profile.
func IdPSetupFor(p mockidp.Profile) IdPSetup {
	var s IdPSetup
	switch p.Name {
	case mockidp.ProfileOkta, mockidp.ProfileKeycloak, mockidp.ProfileEntraV1:
		s.AudienceIsMCPURL = true
	case mockidp.ProfileAuth0:
		s.AudienceIsMCPURL, s.ResourceCompatibility = true, true
	}
	s.OwnASMetadata = !slices.Contains(p.Discovery.CodeChallengeMethods, "S256")
	return s
}

// idpOptions are the mock IdP options of the setup, for a deployment whose MCP URL is mcpURL.
func (s IdPSetup) idpOptions(mcpURL string) []mockidp.Option {
	var opts []mockidp.Option
	if s.AudienceIsMCPURL && mcpURL != "" {
		opts = append(opts, mockidp.WithAudience(mcpURL))
	}
	if s.ResourceCompatibility {
		opts = append(opts, mockidp.WithResourceParameterCompatibility())
	}
	return opts
}

// withOwnASMetadata returns c serving the deployment's own authorization server metadata, a
// copy of the IdP's discovery document read from discoveryURL.
func withOwnASMetadata(ctx context.Context, c *gateway.Config, discoveryURL string) (*gateway.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the IdP's metadata %s: %w", discoveryURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the IdP's metadata %s: status %d: %v", discoveryURL, resp.StatusCode, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the IdP's metadata %s: %w", discoveryURL, err)
	}
	return gateway.ServeAuthorizationServerMetadata(c, doc)
}
