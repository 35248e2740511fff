package targets

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/mcpsso/mcpsso/harness/containers"
	"github.com/mcpsso/mcpsso/mocks/aws/cloudtrail"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/scenarios/framework"
)

func init() {
	framework.Register("containers", func(ctx context.Context, o framework.Options) (framework.Target, error) {
		return StartContainers(ctx, o.Profile)
	})
}

// Containers is the kit's stack as containers (harness/containers): the suites reach the MCP
// server only through the gateway's published port, get tokens from the IdP container by the
// device grant, and read AWS (administrator, CloudTrail) through the emulator's published port.
// The MCP server itself, its task role, its metrics and the components' logs are out of reach,
// as they are in a correct deployment.
type Containers struct {
	framework.NullTarget
	t *containers.Topology
}

// StartContainers builds the kit image when needed and starts the topology.
func StartContainers(ctx context.Context, profile string) (*Containers, error) {
	var opts []containers.Option
	if profile != "" {
		opts = append(opts, containers.WithProfile(profile))
	}
	if err := containers.DockerAvailable(ctx); err != nil {
		return nil, err
	}
	t, err := containers.Run(ctx, opts...)
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
func (c *Containers) Users() []framework.User {
	f := c.t.Fixture()
	var out []framework.User
	for _, u := range f.Users {
		fu := framework.User{Name: u.Username, SourceIdentity: authorizer.SourceIdentity(u.Sub)}
		if m, ok := f.MappingFor(u.Sub); ok {
			fu.Tenant = m.Tags["tenant"]
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

// Token gets a token from the IdP container (device grant, approved as the user).
func (c *Containers) Token(ctx context.Context, user string) (string, error) {
	return c.t.TokenFor(ctx, user)
}

// Capabilities: administrator AWS access and CloudTrail, through the emulator's published port.
func (c *Containers) Capabilities() []framework.Capability {
	return []framework.Capability{framework.CapAWSAdmin, framework.CapCloudTrail}
}

// AdminAWS is an account's administrator.
func (c *Containers) AdminAWS(account string) (aws.Config, error) { return c.t.AdminAWSConfig(account) }

// CloudTrail reads the records through LookupEvents (management events, as on AWS).
func (c *Containers) CloudTrail(ctx context.Context, f cloudtrail.Filter) ([]cloudtrail.Event, error) {
	cfg, err := c.t.AdminAWSConfig("")
	if err != nil {
		return nil, err
	}
	in := &awsct.LookupEventsInput{}
	if f.EventName != "" {
		in.LookupAttributes = []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(f.EventName)}}
	}
	var out []cloudtrail.Event
	p := awsct.NewLookupEventsPaginator(awsct.NewFromConfig(cfg), in)
	for p.HasMorePages() && len(out) < 1000 {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("targets: LookupEvents: %w", err)
		}
		for _, ev := range page.Events {
			var rec cloudtrail.Event
			if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
				return nil, fmt.Errorf("targets: a CloudTrail record does not parse: %w", err)
			}
			out = append(out, rec)
		}
	}
	return out, nil
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
