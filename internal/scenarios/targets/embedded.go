// Package targets implements the scenario framework's targets: "embedded" (the kit's own stack,
// started in this process from the default fixture, profile reference or seed) and "external"
// (a deployment described by a target file). Importing the package registers them.
package targets

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

func init() {
	framework.Register("embedded", func(ctx context.Context, o framework.Options) (framework.Target, error) {
		if o.MCPImage != "" || o.AuthorizerImage != "" {
			return nil, errorf("the embedded target runs the kit's components in this process: images need the containers target")
		}
		b, err := EmbeddedBackend(o.AWSBackend, o.BypassEnforce)
		if err != nil {
			return nil, err
		}
		opts := []stack.Option{stack.WithAWSBackend(b)}
		if o.FixtureFile != "" {
			f, err := fixture.Load(o.FixtureFile)
			if err != nil {
				return nil, err
			}
			if f, err = f.WithMCPScopes(ConformanceScope); err != nil {
				return nil, err
			}
			opts = append(opts, stack.WithFixture(f))
		} else if o.Profile == "" || o.Profile == stack.ProfileReference {
			f, err := fixture.Default().WithMCPScopes(ConformanceScope)
			if err != nil {
				return nil, err
			}
			opts = append(opts, stack.WithFixture(f))
		}
		if o.Sessions {
			opts = append(opts, stack.WithSessions())
		}
		if o.IdPProfile != "" {
			opts = append(opts, stack.WithIdPProfile(o.IdPProfile))
		}
		return StartEmbedded(ctx, o.Profile, opts...)
	})
}

// ConformanceScope is the scope the embedded target's reference stack requires of every token,
// on top of the default fixture (which declares none), so that the scope challenge is checked:
// its protected resource metadata lists it, its 401 names it, and a token without it gets 403
// insufficient_scope. The seed profile, the tutorial as written, declares none.
const ConformanceScope = "mcp:tools"

// EmbeddedBackend is the stack's AWS backend for a backend name of framework.Options.
func EmbeddedBackend(name string, bypass bool) (stack.AWSBackend, error) {
	b, err := stack.ParseAWSBackend(name, bypass)
	if err != nil {
		return b, errorf("the embedded target: %v", err)
	}
	return b, nil
}

// Embedded is the kit's stack running in this process: it offers every capability, but
// sessions unless its MCP server runs them (stack.WithSessions) and CloudTrail when the
// enforcing proxy is bypassed.
type Embedded struct {
	s       *stack.Stack
	clients *clientMetadataHost
}

// StartEmbedded starts the stack with the default fixture and opts.
func StartEmbedded(ctx context.Context, profile string, opts ...stack.Option) (*Embedded, error) {
	if profile == "" {
		profile = stack.ProfileReference
	}
	clients := startClientMetadataHost()
	s, err := stack.Start(ctx, append([]stack.Option{stack.WithProfile(profile), stack.WithIdPOptions(clients.idpOptions()...)}, opts...)...)
	if err != nil {
		clients.close()
		return nil, err
	}
	return &Embedded{s: s, clients: clients}, nil
}

// Stack is the running stack.
func (e *Embedded) Stack() *stack.Stack { return e.s }

// Name is "embedded".
func (e *Embedded) Name() string { return "embedded" }

// Profile is the stack's profile.
func (e *Embedded) Profile() string { return e.s.Profile() }

// MCPURL is the MCP endpoint behind the gateway.
func (e *Embedded) MCPURL() string { return e.s.MCPURL() }

// Users are the fixture's users.
func (e *Embedded) Users() []framework.User { return fixtureUsers(e.s.Fixture()) }

// Probes are the reference server's: the stack runs it.
func (e *Embedded) Probes() *framework.Probes { return framework.ReferenceProbes() }

// Token mints a valid access token.
func (e *Embedded) Token(ctx context.Context, user string) (string, error) {
	return e.s.TokenFor(ctx, user)
}

// Capabilities: all of them, but CloudTrail when the enforcing proxy is bypassed (nothing
// records then) and sessions when the MCP server is stateless (the default).
func (e *Embedded) Capabilities() []framework.Capability {
	return slices.DeleteFunc(slices.Clone(framework.AllCapabilities), func(c framework.Capability) bool {
		return c == framework.CapCloudTrail && !e.s.HasCloudTrail() || c == framework.CapSessions && !e.s.Sessions()
	})
}

// Forge mints a forged token through the mock IdP, with the scopes the stack's tokens carry,
// so that it is refused for what was forged, not for a missing scope.
func (e *Embedded) Forge(ctx context.Context, forgery, user string) (string, error) {
	f, err := mockidp.ParseForgery(forgery)
	if err != nil {
		return "", err
	}
	return e.s.IdP().Forge(ctx, f, user, e.s.TokenScopes())
}

// AdminAWS is an account's administrator.
func (e *Embedded) AdminAWS(account string) (aws.Config, error) { return e.s.AdminAWSConfig(account) }

// TaskRoleAWS is the MCP server's task role, as ECS delivers it.
func (e *Embedded) TaskRoleAWS(ctx context.Context) (aws.Config, error) {
	return e.s.TaskRoleAWSConfig(ctx)
}

// CloudTrail returns recorded events.
func (e *Embedded) CloudTrail(_ context.Context, f cloudtrail.Filter) ([]cloudtrail.Event, error) {
	return e.s.CloudTrailEvents(f), nil
}

// Logs returns the components' log lines.
func (e *Embedded) Logs() ([]string, error) { return e.s.Logs(), nil }

// MetricsURL is the MCP server's metrics endpoint.
func (e *Embedded) MetricsURL() (string, error) { return e.s.MetricsURL(), nil }

// MCPDirectURL is the MCP server bypassing the gateway.
func (e *Embedded) MCPDirectURL() (string, error) { return e.s.MCPDirectURL(), nil }

// ProveContext signs h's decided headers with the stack's context proof secret.
func (e *Embedded) ProveContext(method, path string, h http.Header) error {
	return e.s.ProveContext(method, path, h)
}

// Accounts are the fixture's accounts.
func (e *Embedded) Accounts() []string { return e.s.Fixture().AccountIDs() }

// RoleARN is a role of the first account.
func (e *Embedded) RoleARN(name string) string {
	f := e.s.Fixture()
	return f.RoleARN(f.Accounts[0].ID, name)
}

// PublishClientMetadata serves a Client ID Metadata Document the stack's IdP trusts.
func (e *Embedded) PublishClientMetadata(metadata map[string]any) (string, error) {
	return e.clients.publish(metadata)
}

// Close stops the stack.
func (e *Embedded) Close() error {
	defer e.clients.close()
	return e.s.Close()
}

var _ framework.Target = (*Embedded)(nil)

// fixtureUsers are a fixture's users as the suites know them, with what the deployment is
// expected to derive for each: source identity, tenant, bucket and role.
func fixtureUsers(f *fixture.Fixture) []framework.User {
	var out []framework.User
	for _, u := range f.Users {
		fu := framework.User{Name: u.Username, SourceIdentity: authorizer.SourceIdentity(u.Sub)}
		if m, ok := f.MappingFor(u.Sub); ok {
			fu.Tenant = m.Tags["tenant"]
			fu.Role = f.RoleARN(m.Account, m.Role)
			for _, t := range f.Tenants {
				if t.Name == fu.Tenant {
					fu.Bucket = t.Bucket
				}
			}
		}
		out = append(out, fu)
	}
	return out
}

// errorf names the target in an error.
func errorf(format string, args ...any) error { return fmt.Errorf("targets: "+format, args...) }
