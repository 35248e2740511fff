// Package containers runs the kit's components as containers (testcontainers-go), each
// `mcpsso <component> serve` in an image built FROM scratch from the one static binary, in the
// network topology of the pattern:
//
//   - a public network with the gateway and the IdP (their ports are published on the host),
//     and the AWS emulator (AWS APIs are public endpoints; its port is published for
//     administrator and CloudTrail access);
//   - an internal network (no route out, no address for the host) with the gateway, the MCP
//     task and the AWS emulator, which also serves the MCP server's task role;
//   - the MCP task: a network namespace, held by a `mcpsso vpc task-endpoint` container on the
//     internal network under the alias "mcp", that the MCP server's container joins, as the
//     containers of a Fargate awsvpc task share one. The ECS agent's address 169.254.170.2 is
//     in that namespace only, where the task-endpoint serves the task role.
//
// The IdP container signs with a key the topology generates and hands it (--signing-key), so
// that Topology.Forge mints the mock IdP's forged tokens for it from this process.
//
// The MCP server publishes no port and is in the MCP task only: nothing but the gateway (and
// the harness's probes) can reach it. It gets its credentials from the default chain exactly as
// on Fargate (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, fetched from 169.254.170.2 without a
// token), and the AWS endpoint from AWS_ENDPOINT_URL. Nothing in a topology is fixed
// machine-wide (subnets come from Docker's pools, host ports are free ones), so topologies run
// side by side, in one process or in several.
//
// testcontainers-go's reaper (Ryuk) is an image that cannot be pulled here, so it is disabled
// (TESTCONTAINERS_RYUK_DISABLED=true) and Close removes every container and network; Run does
// so itself when it fails.
package containers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/goccy/go-yaml"
	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// Network aliases and ports inside the topology.
const (
	AliasGateway = "gateway"
	AliasIdP     = "idp"
	AliasAWS     = "aws"
	AliasMCP     = "mcp"

	gatewayPort = "8480/tcp"
	idpPort     = "8400/tcp"
	awsPort     = "4566/tcp"
	mcpPort     = "8080"

	// TaskRoleIP is where the task-role credentials are served inside the MCP task's network
	// namespace: the ECS agent's address, which the SDKs put before the relative URI.
	TaskRoleIP = ecscreds.TaskAddress
	// awsTaskRolePort and awsTaskRolePath are the AWS container's own credentials endpoint on
	// the networks, which only the task-endpoint calls (with the token).
	awsTaskRolePort = "8170"
	awsTaskRolePath = "/v2/credentials/mcpsso-task"
)

// defaultStartup is how long a component may take to print its ready line (WithStartupTimeout).
const defaultStartup = 60 * time.Second

// Option configures Run.
type Option func(*settings) error

type settings struct {
	image   string
	profile string
	timeout time.Duration

	// Set by the options of mcpimage.go, authorizerimage.go and backend.go.
	mcpImage        string
	authorizerImage string
	awsBackend      string

	idpProfile string // WithIdPProfile
}

// WithImage runs the components from this kit image (default: KitImage).
func WithImage(image string) Option {
	return func(s *settings) error {
		if image == "" {
			return errors.New("containers: WithImage: empty image")
		}
		s.image = image
		return nil
	}
}

// WithProfile deploys stack.ProfileReference (default) or stack.ProfileSeed.
func WithProfile(p string) Option {
	return func(s *settings) error {
		if p != stack.ProfileReference && p != stack.ProfileSeed {
			return fmt.Errorf("containers: profile %q: must be %s or %s", p, stack.ProfileReference, stack.ProfileSeed)
		}
		s.profile = p
		return nil
	}
}

// WithIdPProfile makes the IdP container issue tokens as the named provider does
// (mockidp.ProfileNames; default generic): `mcpsso idp serve --idp-profile`.
func WithIdPProfile(name string) Option {
	return func(s *settings) error {
		if _, err := mockidp.LookupProfile(name); err != nil {
			return fmt.Errorf("containers: %w", err)
		}
		s.idpProfile = name
		return nil
	}
}

// WithStartupTimeout bounds how long each component may take to print its ready line (default
// 60s).
func WithStartupTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return errors.New("containers: WithStartupTimeout: must be positive")
		}
		s.timeout = d
		return nil
	}
}

// Topology is the running deployment: the components' containers on two networks, plus the
// metrics relay (access.go) when the MCP server is the reference one.
type Topology struct {
	profile  string
	fixture  *fixture.Fixture
	image    string
	public   *testcontainers.DockerNetwork
	internal *testcontainers.DockerNetwork

	mu         sync.Mutex
	containers map[string]*testcontainers.DockerContainer
	order      []string

	gatewayURL, issuerURL, awsEndpoint string
	awsSide                            awsSide // backend.go
	closeOnce                          sync.Once
	closeErr                           error

	// The MCP server and what the harness reaches inside the networks (mcpimage.go, access.go).
	mcpImage, metricsURL, taskToken string
	credMu                          sync.Mutex
	taskCreds                       aws.Credentials
	logMu                           sync.Mutex
	logSeen                         map[string]int // bytes of each component's output read
	logLines                        []string

	// The IdP in this process that signs with the IdP container's key (forge.go).
	forger *mockidp.IdP

	// A WithAuthorizerImage authorizer (authorizerimage.go).
	authorizerImage, authorizerURL string

	// The IdP container's profile (WithIdPProfile; generic by default).
	idpProfile mockidp.Profile

	// The MCP task's credentials path, its AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (tasknet.go).
	taskRelativeURI string

	// Tokens by user, kept until shortly before they expire (token.go).
	tokenMu sync.Mutex
	tokens  map[string]*oauth2.Token

	// The context proof secret the authorizer and the MCP server share (reference profile), and
	// the relay to the MCP server that stands for another service in the VPC (direct.go).
	proofSecret string
	startup     time.Duration // WithStartupTimeout, for components started later
	directMu    sync.Mutex
	directURL   string
}

// Run builds (or reuses) the kit image and starts the topology with the default fixture. On
// error everything created so far is removed.
func Run(ctx context.Context, opts ...Option) (_ *Topology, err error) {
	disableRyuk()
	cfg := settings{profile: stack.ProfileReference, timeout: defaultStartup}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.image == "" {
		if cfg.image, err = KitImage(ctx); err != nil {
			return nil, err
		}
	}
	f := fixture.Default()
	if cfg.awsBackend == AWSBackendLocalStack || cfg.awsBackend == AWSBackendMoto {
		// One account behind the enforcing proxy: the fixture the suites see is the deployed one.
		if f, _, err = f.OnlyDeploymentAccount(); err != nil {
			return nil, fmt.Errorf("containers: AWS backend %s: %w", cfg.awsBackend, err)
		}
	}
	t := &Topology{profile: cfg.profile, fixture: f, image: cfg.image, containers: map[string]*testcontainers.DockerContainer{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close())
		}
	}()

	if t.public, err = network.New(ctx, network.WithLabels(map[string]string{"mcpsso.network": "public"})); err != nil {
		return nil, fmt.Errorf("containers: public network: %w", err)
	}
	// No address for the host on this network either: only its containers are on it
	// (internalnet.go says why network.New cannot make it).
	if t.internal, err = newInternalNetwork(ctx); err != nil {
		return nil, fmt.Errorf("containers: internal network: %w", err)
	}

	// Fixed host ports for the gateway and the IdP, so that the URLs they print (the issuer
	// in tokens, the gateway's protected resource metadata) are the ones the host calls.
	gwHost, err := freePort()
	if err != nil {
		return nil, err
	}
	idpHost, err := freePort()
	if err != nil {
		return nil, err
	}
	awsHost, err := freePort()
	if err != nil {
		return nil, err
	}
	t.gatewayURL = "http://127.0.0.1:" + strconv.Itoa(gwHost)
	t.issuerURL = "http://127.0.0.1:" + strconv.Itoa(idpHost)
	idpArgs := []string{"idp", "serve", "--addr", "0.0.0.0:8400"}
	t.idpProfile, _ = mockidp.LookupProfile(mockidp.ProfileGeneric)
	if cfg.idpProfile != "" {
		// The issuer in the profile's form (path, trailing slash) on the published port.
		t.idpProfile, _ = mockidp.LookupProfile(cfg.idpProfile) // checked by WithIdPProfile
		t.issuerURL = t.idpProfile.Issuer(t.issuerURL)
		idpArgs = append(idpArgs, "--idp-profile", cfg.idpProfile)
	}
	t.awsEndpoint = "http://127.0.0.1:" + strconv.Itoa(awsHost)
	taskToken := randomHex(24)
	t.taskToken = taskToken
	t.proofSecret = contextproof.NewSecret()
	t.startup = cfg.timeout
	idpKey, err := t.newIdPKey() // forge.go
	if err != nil {
		return nil, err
	}

	// The AWS emulator and the IdP do not depend on each other.
	var wg sync.WaitGroup
	var awsErr, idpErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		awsErr = t.startAWS(ctx, cfg, f, taskToken, awsHost) // backend.go
	}()
	go func() {
		defer wg.Done()
		_, idpErr = t.start(ctx, cfg, AliasIdP,
			append(idpArgs, "--issuer-url", t.issuerURL, "--signing-key", idpKeyPath),
			readyLine(),
			network.WithNetwork([]string{AliasIdP}, t.public),
			testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(idpKey), ContainerFilePath: idpKeyPath, FileMode: 0o600}),
			testcontainers.WithExposedPorts(idpPort), publishOn(idpPort, idpHost))
	}()
	wg.Wait()
	if err := errors.Join(awsErr, idpErr); err != nil {
		return nil, err
	}

	// The MCP task's namespace with the task role in it (tasknet.go), then the reference MCP
	// server (and its metrics relay) or a WithMCPImage image in it (mcpimage.go).
	if err = t.startTask(ctx, cfg); err != nil {
		return nil, err
	}
	if err = t.startMCP(ctx, cfg); err != nil {
		return nil, err
	}

	roles, err := roleStoreYAML(f)
	if err != nil {
		return nil, err
	}
	mode := string(authorizer.ModeREST)
	if cfg.profile == stack.ProfileSeed {
		mode = string(authorizer.ModeHTTPAPI)
	}
	// The authorizer runs in the gateway, or as a WithAuthorizerImage container (authorizerimage.go).
	if err = t.startAuthorizer(ctx, cfg, mode, roles); err != nil {
		return nil, err
	}
	authorizerArgs, authorizerEnv := t.gatewayAuthorizer(mode)
	if _, err = t.start(ctx, cfg, AliasGateway,
		append([]string{"gateway", "serve", "--profile", cfg.profile, "--addr", "0.0.0.0:8480",
			"--integration-url", "http://" + AliasMCP + ":" + mcpPort, "--public-url", t.gatewayURL, "--issuer", t.issuerURL}, authorizerArgs...),
		readyLine(),
		network.WithNetwork([]string{AliasGateway}, t.public),
		network.WithNetwork([]string{AliasGateway}, t.internal),
		testcontainers.WithEnv(authorizerEnv),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(roles), ContainerFilePath: rolesPath, FileMode: 0o644}),
		testcontainers.WithExposedPorts(gatewayPort), publishOn(gatewayPort, gwHost)); err != nil {
		return nil, err
	}
	return t, nil
}

// readyLine waits for the line a kit component prints once it accepts connections ("ready
// <URL>"), anchored at a line start so that an error message that merely contains "ready "
// ("already exists") does not pass for it.
func readyLine() wait.Strategy { return wait.ForLog(`(?m)^ready `).AsRegexp() }

// start runs one component and records it for Close.
func (t *Topology) start(ctx context.Context, cfg settings, name string, args []string, ready wait.Strategy,
	opts ...testcontainers.ContainerCustomizer) (*testcontainers.DockerContainer, error) {
	opts = append([]testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(args...),
		testcontainers.WithWaitStrategyAndDeadline(cfg.timeout, ready),
		testcontainers.WithLabels(map[string]string{"mcpsso.component": name}),
	}, opts...)
	c, err := testcontainers.Run(ctx, t.image, opts...)
	if c != nil {
		t.track(name, c)
	}
	if err != nil {
		return nil, fmt.Errorf("containers: %s: %w%s", name, err, t.tail(ctx, name))
	}
	return c, nil
}

// track records a component's container for Container and Close.
func (t *Topology) track(name string, c *testcontainers.DockerContainer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.containers[name] = c
	t.order = append(t.order, name)
}

// tail is the end of a component's output, for an error message.
func (t *Topology) tail(ctx context.Context, name string) string {
	out, err := t.ComponentLogs(ctx, name)
	if err != nil || out == "" {
		return ""
	}
	return "\n" + name + " output:\n" + lastLines(out, 15)
}

// Close removes every container, then the networks. It is safe to call twice.
func (t *Topology) Close() error {
	t.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var errs []error
		t.mu.Lock()
		order := append([]string(nil), t.order...)
		t.mu.Unlock()
		// The MCP task's namespace goes last: the containers in it go first.
		last := slices.DeleteFunc(slices.Clone(order), func(n string) bool { return n != AliasTask })
		order = slices.DeleteFunc(order, func(n string) bool { return n == AliasTask })
		for _, wave := range [][]string{order, last} {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, name := range wave {
				c := t.containers[name]
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := c.Terminate(ctx, testcontainers.StopTimeout(2*time.Second)); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("containers: removing %s: %w", name, err))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
		}
		if err := t.awsSide.close(); err != nil { // moto_server runs on the host
			errs = append(errs, fmt.Errorf("containers: stopping the AWS backend: %w", err))
		}
		for _, nw := range []*testcontainers.DockerNetwork{t.internal, t.public} {
			if nw != nil {
				if err := removeNetwork(ctx, nw); err != nil {
					errs = append(errs, fmt.Errorf("containers: removing network %s: %w", nw.Name, err))
				}
			}
		}
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}

// Profile is the deployed profile.
func (t *Topology) Profile() string { return t.profile }

// Fixture is the deployed fixture (the default one).
func (t *Topology) Fixture() *fixture.Fixture { return t.fixture }

// Image is the kit image the components run from.
func (t *Topology) Image() string { return t.image }

// MCPURL is the MCP endpoint as the host calls it: through the gateway's published port.
func (t *Topology) MCPURL() string { return t.gatewayURL + "/mcp" }

// GatewayURL is the gateway's base URL on the host.
func (t *Topology) GatewayURL() string { return t.gatewayURL }

// IssuerURL is the IdP's issuer, reachable from the host (the gateway's authorizer fetches the
// keys through the public network).
func (t *Topology) IssuerURL() string { return t.issuerURL }

// AWSEndpoint is the AWS emulator's published endpoint on the host.
func (t *Topology) AWSEndpoint() string { return t.awsEndpoint }

// PublicNetwork and InternalNetwork are the Docker network names.
func (t *Topology) PublicNetwork() string   { return t.public.Name }
func (t *Topology) InternalNetwork() string { return t.internal.Name }

// Container is a component's container (AliasGateway, AliasIdP, AliasAWS, AliasMCP, AliasTask, …).
func (t *Topology) Container(name string) *testcontainers.DockerContainer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.containers[name]
}

// MCPServerAddr is the MCP server's address on the internal network (HOST:PORT), the MCP
// task's, which only the gateway can reach.
func (t *Topology) MCPServerAddr(ctx context.Context) (string, error) {
	c := t.Container(AliasTask)
	if c == nil {
		return "", errors.New("containers: no MCP task container")
	}
	in, err := c.Inspect(ctx)
	if err != nil {
		return "", err
	}
	es := in.NetworkSettings.Networks[t.internal.Name]
	if es == nil || !es.IPAddress.IsValid() {
		return "", errors.New("containers: the MCP server has no address on the internal network")
	}
	return net.JoinHostPort(es.IPAddress.String(), mcpPort), nil
}

// ComponentLogs is a component's output so far (stdout and stderr).
func (t *Topology) ComponentLogs(ctx context.Context, name string) (string, error) {
	c := t.Container(name)
	if c == nil {
		return "", fmt.Errorf("containers: no component %q", name)
	}
	rc, err := c.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// AdminAWSConfig is an SDK configuration with the admin credentials of an account, through
// the published AWS endpoint.
func (t *Topology) AdminAWSConfig(account string) (aws.Config, error) {
	if account == "" {
		account = awsemu.DefaultAccount
	}
	key := account
	if account == awsemu.DefaultAccount {
		key = "test"
	}
	if t.awsSide.proxied() { // the enforcing proxy serves one account: backend.go
		if account != t.fixture.Accounts[0].ID {
			return aws.Config{}, fmt.Errorf("containers: account %s: the %s backend serves only the deployment account %s", account, t.awsSide.backend, t.fixture.Accounts[0].ID)
		}
		key = t.awsSide.adminKey
	}
	return aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(t.awsEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(key, "test", "")}, nil
}

// publishOn binds a container port to a given loopback port of the host.
func publishOn(port string, hostPort int) testcontainers.CustomizeRequestOption {
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		p := mobynet.MustParsePort(port)
		if hc.PortBindings == nil {
			hc.PortBindings = mobynet.PortMap{}
		}
		hc.PortBindings[p] = []mobynet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(hostPort)}}
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("containers: a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// roleStoreYAML is the authorizer's role store (file format) from the fixture's mappings, as
// the embedded stack builds it.
func roleStoreYAML(f *fixture.Fixture) ([]byte, error) {
	var entries []authorizer.StoreEntry
	for _, m := range f.Mappings {
		entries = append(entries, authorizer.StoreEntry{Sub: m.Sub, Mapping: authorizer.Mapping{
			RoleARN: f.RoleARN(m.Account, m.Role), Tags: m.Tags,
			Limits: authorizer.Limits{RequestsPerMinute: m.Limits.RequestsPerMinute, SessionSeconds: m.Limits.SessionSeconds}}})
	}
	b, err := yaml.Marshal(map[string]any{"mappings": entries})
	if err != nil {
		return nil, err
	}
	if _, err := authorizer.ParseStoreYAML(b); err != nil {
		return nil, fmt.Errorf("containers: role store from the fixture: %w", err)
	}
	return b, nil
}
