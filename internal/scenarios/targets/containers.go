package targets

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

func init() {
	framework.Register("containers", func(ctx context.Context, o framework.Options) (framework.Target, error) {
		opts, err := containersOptions(o)
		if err != nil {
			return nil, err
		}
		return StartContainers(ctx, o.Profile, opts...)
	})
}

// containersOptions turns the framework's options into the topology's; an option the topology
// cannot honour is an error, never silently dropped.
func containersOptions(o framework.Options) ([]containers.Option, error) {
	var opts []containers.Option
	if o.MCPImage != "" {
		opts = append(opts, containers.WithMCPImage(o.MCPImage))
	}
	if o.AuthorizerImage != "" {
		opts = append(opts, containers.WithAuthorizerImage(o.AuthorizerImage))
	}
	if o.AWSBackend != "" {
		opts = append(opts, containers.WithAWSBackend(o.AWSBackend))
	}
	if o.IdPProfile != "" {
		opts = append(opts, containers.WithIdPProfile(o.IdPProfile))
	}
	if o.BypassEnforce {
		return nil, errorf("containers: bypassing the enforcing proxy is not supported by this target")
	}
	if o.Sessions {
		return nil, errorf("containers: a stateful MCP server is not supported by this target (its reference MCP server is stateless): use the embedded target")
	}
	return opts, nil
}

// Containers is the kit's stack as containers (internal/harness/containers): the suites reach the MCP
// server through the gateway's published port, get tokens from the IdP container by the
// device grant, and read AWS (administrator, CloudTrail) through the emulator's published port.
// The components' logs come from Docker; the task role's credentials from a probe container on
// the internal network; the MCP server's metrics through the metrics relay. The MCP server has
// no port of its own on the host: direct-mcp reaches it through a relay on the internal
// network that stands for another service in the VPC (an SSRF), which is what a correct
// deployment must hold against; prove-context signs with the topology's secret, and forge
// with the IdP container's signing key, which the topology made.
type Containers struct {
	framework.NullTarget
	t *containers.Topology
}

// StartContainers builds the kit image when needed and starts the topology with profile ("":
// reference) and opts (containers.WithMCPImage, …), which come after the profile's option.
func StartContainers(ctx context.Context, profile string, opts ...containers.Option) (*Containers, error) {
	var all []containers.Option
	if profile != "" {
		all = append(all, containers.WithProfile(profile))
	}
	all = append(all, opts...)
	if err := containers.DockerAvailable(ctx); err != nil {
		return nil, err
	}
	t, err := containers.Run(ctx, all...)
	if err != nil {
		return nil, err
	}
	return &Containers{t: t}, nil
}

// Topology is the running topology.
func (c *Containers) Topology() *containers.Topology { return c.t }

// Name is "containers".
func (c *Containers) Name() string { return "containers" }

// Profile is the deployed profile.
func (c *Containers) Profile() string { return c.t.Profile() }

// MCPURL is the gateway's MCP endpoint on the host.
func (c *Containers) MCPURL() string { return c.t.MCPURL() }

// Users are the default fixture's users.
func (c *Containers) Users() []framework.User { return fixtureUsers(c.t.Fixture()) }

// Token gets a token from the IdP container (device grant, approved as the user).
func (c *Containers) Token(ctx context.Context, user string) (string, error) {
	return c.t.TokenFor(ctx, user)
}

// Capabilities: administrator AWS access and CloudTrail through the emulator's published port,
// the task role, the components' logs, signing in at the IdP container (the mock IdP) and
// forging its tokens (the topology made its signing key), the MCP server reached from inside
// the VPC and context proofs signed with the topology's secret, and the MCP server's metrics
// unless the server is a WithMCPImage image (whose metrics endpoint, if any, the kit does not
// know).
func (c *Containers) Capabilities() []framework.Capability {
	caps := []framework.Capability{framework.CapAWSAdmin, framework.CapCloudTrail, framework.CapTaskRole, framework.CapLogs, framework.CapSignIn,
		framework.CapForge, framework.CapDirectMCP, framework.CapProveContext}
	if _, err := c.t.MetricsURL(); err == nil {
		caps = append(caps, framework.CapMetrics)
	}
	return caps
}

// Forge mints a forged token signed as the IdP container signs (with the key the topology made).
func (c *Containers) Forge(ctx context.Context, forgery, user string) (string, error) {
	f, err := mockidp.ParseForgery(forgery)
	if err != nil {
		return "", err
	}
	return c.t.Forge(ctx, f, user)
}

// TaskRoleAWS is the MCP server's task role, fetched inside the internal network and used
// through the emulator's published port.
func (c *Containers) TaskRoleAWS(ctx context.Context) (aws.Config, error) {
	return c.t.TaskRoleAWSConfig(ctx)
}

// Logs are every component's JSON log lines, in the order first read (the list only grows).
func (c *Containers) Logs() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.t.JSONLogs(ctx)
}

// MetricsURL is the reference MCP server's metrics, through the metrics relay.
func (c *Containers) MetricsURL() (string, error) {
	u, err := c.t.MetricsURL()
	if err != nil {
		return "", fmt.Errorf("%w: %v", framework.ErrNotSupported, err)
	}
	return u, nil
}

// MCPDirectURL is the MCP server through the relay inside the VPC (started on first use).
func (c *Containers) MCPDirectURL() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.t.MCPDirectURL(ctx)
}

// ProveContext signs h's decided headers with the topology's context proof secret.
func (c *Containers) ProveContext(method, path string, h http.Header) error {
	return c.t.ProveContext(method, path, h)
}

// AdminAWS is an account's administrator.
func (c *Containers) AdminAWS(account string) (aws.Config, error) { return c.t.AdminAWSConfig(account) }

// CloudTrail reads the records through LookupEvents (management events, as on AWS).
func (c *Containers) CloudTrail(ctx context.Context, f cloudtrail.Filter) ([]cloudtrail.Event, error) {
	cfg, err := c.t.AdminAWSConfig("")
	if err != nil {
		return nil, err
	}
	return lookupEvents(ctx, cfg, f)
}

// Accounts are the fixture's accounts.
func (c *Containers) Accounts() []string { return c.t.Fixture().AccountIDs() }

// RoleARN is a role of the first account.
func (c *Containers) RoleARN(name string) string {
	f := c.t.Fixture()
	return f.RoleARN(f.Accounts[0].ID, name)
}

// Close removes the containers and networks.
func (c *Containers) Close() error { return c.t.Close() }

var _ framework.Target = (*Containers)(nil)
