package containers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

// The AWS backends of the topology. Whichever runs, the MCP server and the task role find AWS
// at the same place: the container with alias "aws" on both networks, which also serves the
// task role's credentials endpoint (port 8170) that the MCP task's task-endpoint relays.
const (
	// AWSBackendEmulator is the kit's AWS emulator (`mcpsso aws serve`), the default.
	AWSBackendEmulator = "emulator"
	// AWSBackendLocalStack is LocalStack (AliasLocalStack, internal and public networks)
	// behind the enforcing proxy (`mcpsso aws enforce`), since free LocalStack enforces nothing.
	AWSBackendLocalStack = "localstack"
	// AWSBackendMoto is moto_server on the host, on the public network's gateway address,
	// behind the enforcing proxy with bucket policies kept in the proxy.
	AWSBackendMoto = "moto"

	// AliasLocalStack is LocalStack's alias on the internal network.
	AliasLocalStack = "localstack"
)

// AWSBackends lists the names WithAWSBackend accepts, the default first (for flag validation
// and help texts).
func AWSBackends() []string {
	return []string{AWSBackendEmulator, AWSBackendLocalStack, AWSBackendMoto}
}

// WithAWSBackend picks what serves AWS in the topology: AWSBackendEmulator (default),
// AWSBackendLocalStack or AWSBackendMoto. The last two serve one account, the fixture's
// deployment account: the fixture's other accounts are not created, so checks that need them
// (cross-account access) have nothing to run against.
func WithAWSBackend(name string) Option {
	return func(s *settings) error {
		if !slices.Contains(AWSBackends(), name) {
			return fmt.Errorf("containers: AWS backend %q: must be one of %s", name, strings.Join(AWSBackends(), ", "))
		}
		s.awsBackend = name
		return nil
	}
}

// awsSide is what the topology keeps of its AWS backend.
type awsSide struct {
	backend  string
	adminKey string       // the admin access key of the deployment account, as the host uses it
	upstream string       // LocalStack's or moto's endpoint as the host reaches it
	moto     *moto.Server // AWSBackendMoto: the process to stop in Close
}

// proxied says the enforcing proxy serves AWS, for one account with its own admin key.
func (a *awsSide) proxied() bool {
	return a.backend == AWSBackendLocalStack || a.backend == AWSBackendMoto
}

// close stops what runs outside Docker (moto_server); containers are removed by Close.
func (a *awsSide) close() error {
	if a.moto != nil {
		return a.moto.Close()
	}
	return nil
}

// startAWS starts the configured AWS backend as the container with alias "aws": the emulator,
// or the enforcing proxy in front of LocalStack or moto_server.
func (t *Topology) startAWS(ctx context.Context, cfg settings, f *fixture.Fixture, taskToken string, hostPort int) error {
	backend := cfg.awsBackend
	if backend == "" {
		backend = AWSBackendEmulator
	}
	t.awsSide.backend = backend
	taskArgs := []string{"--config", "default", "--profile", cfg.profile,
		"--task-role", f.TaskRole, "--task-role-addr", "0.0.0.0:" + awsTaskRolePort, "--task-role-path", awsTaskRolePath,
		"--task-role-token", taskToken}
	var args []string
	switch backend {
	case AWSBackendEmulator:
		args = append([]string{"aws", "serve", "--addr", "0.0.0.0:4566"}, taskArgs...)
	case AWSBackendLocalStack:
		upstream, err := t.startLocalStack(ctx, cfg)
		if err != nil {
			return err
		}
		// LocalStack takes a 12-digit access key as the account it acts in; "test" would be
		// its account 000000000000, which the fixture's policies do not name.
		t.awsSide.adminKey = f.Accounts[0].ID
		args = append([]string{"aws", "enforce", "--addr", "0.0.0.0:4566", "--upstream", upstream,
			"--admin-key", t.awsSide.adminKey, "--admin-secret", "test"}, taskArgs...)
	case AWSBackendMoto:
		upstream, err := t.startMoto(ctx, f)
		if err != nil {
			return err
		}
		t.awsSide.adminKey = "test"
		// moto applies every Deny of a bucket policy unconditionally: the proxy keeps them.
		args = append([]string{"aws", "enforce", "--addr", "0.0.0.0:4566", "--upstream", upstream, "--local-bucket-policies"}, taskArgs...)
	default:
		return fmt.Errorf("containers: AWS backend %q: must be one of %s", backend, strings.Join(AWSBackends(), ", "))
	}
	_, err := t.start(ctx, cfg, AliasAWS, args,
		// Printed after seeding and once the task-role endpoint listens; at a line's start, as
		// an error can say "already exists".
		readyLine(),
		network.WithNetwork([]string{AliasAWS}, t.internal),
		network.WithNetwork([]string{AliasAWS}, t.public),
		testcontainers.WithExposedPorts(awsPort), publishOn(awsPort, hostPort))
	return err
}

// startLocalStack runs LocalStack on the internal network, where the proxy calls it, and on the
// public one, which gives it a route out (LocalStack for AWS activates its licence online) and
// lets its port be published on the host. It returns the proxy's upstream URL.
func (t *Topology) startLocalStack(ctx context.Context, cfg settings) (string, error) {
	ls, err := RunLocalStack(ctx,
		network.WithNetwork([]string{AliasLocalStack}, t.internal),
		network.WithNetwork([]string{AliasLocalStack}, t.public),
		// The module's own wait, with a deadline that allows for LocalStack's start.
		testcontainers.WithWaitStrategyAndDeadline(max(cfg.timeout, 2*time.Minute),
			wait.ForHTTP("/_localstack/health").WithPort(localStackPort)),
		testcontainers.WithLabels(map[string]string{"mcpsso.component": AliasLocalStack}))
	if ls != nil {
		dc, derr := ls.dockerContainer()
		if derr != nil {
			// Not ours to track: remove it here, or nothing would.
			return "", errors.Join(err, derr, ls.Terminate(context.Background()))
		}
		t.track(AliasLocalStack, dc)
	}
	if err != nil {
		return "", fmt.Errorf("%w%s", err, t.tail(ctx, AliasLocalStack))
	}
	if t.awsSide.upstream, err = ls.Endpoint(ctx); err != nil {
		return "", err
	}
	return "http://" + AliasLocalStack + ":4566", nil
}

// startMoto runs moto_server on the host, acting as the fixture's deployment account, on the
// public network's gateway address: the one address of the host its containers reach (the
// internal network gives the host none). It returns the proxy's upstream URL.
func (t *Topology) startMoto(ctx context.Context, f *fixture.Fixture) (string, error) {
	gw, err := networkGateway(ctx, t.public)
	if err != nil {
		return "", err
	}
	m, err := moto.Start(ctx, moto.WithHost(gw.String()), moto.WithAccount(f.Accounts[0].ID))
	if err != nil {
		return "", fmt.Errorf("containers: moto backend: %w", err)
	}
	t.awsSide.moto = m
	t.awsSide.upstream = m.Endpoint()
	return m.Endpoint(), nil
}

// networkGateway is the host's address on a Docker network.
func networkGateway(ctx context.Context, nw *testcontainers.DockerNetwork) (netip.Addr, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("containers: Docker client: %w", err)
	}
	defer cli.Close()
	res, err := cli.NetworkInspect(ctx, nw.ID, client.NetworkInspectOptions{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("containers: inspecting network %s: %w", nw.Name, err)
	}
	for _, c := range res.Network.IPAM.Config {
		if c.Gateway.Is4() {
			return c.Gateway, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("containers: network %s has no IPv4 gateway for the host", nw.Name)
}

// AWSBackend is the backend serving AWS: AWSBackendEmulator, AWSBackendLocalStack or
// AWSBackendMoto.
func (t *Topology) AWSBackend() string { return t.awsSide.backend }

// AWSUpstreamEndpoint is LocalStack's or moto's own endpoint as the host reaches it, behind
// no proxy and enforcing nothing (for comparisons); "" with the emulator.
func (t *Topology) AWSUpstreamEndpoint() string { return t.awsSide.upstream }
