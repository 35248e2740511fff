package containers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// AliasAuthorizer is the network alias of a WithAuthorizerImage container on the public network.
const AliasAuthorizer = "authorizer"

// AuthorizerImageRepo is the repository of the image ReferenceAuthorizerImage builds.
const AuthorizerImageRepo = "mcpsso-authorizer"

const (
	// authorizerPort is the Lambda container image contract's Invoke API port.
	authorizerPort = "8080/tcp"
	// authorizerFunction is the function name the shipped gateway configs invoke (their
	// authorizerUri), so the image's emulator must answer to it.
	authorizerFunction = "mcp-authorizer"
	// rolesPath is where the role store file is put, for the gateway and the authorizer image.
	rolesPath = "/etc/mcpsso/roles.yaml"
	// authorizerProbePath is an Invoke API path of a function no image has: any HTTP answer to
	// it (a 404 from an emulator) shows the emulator is up, and nothing is invoked.
	authorizerProbePath = "/2015-03-31/functions/mcpsso-readiness-probe/invocations"
)

// WithAuthorizerImage runs a Lambda container image as the API Gateway's Lambda authorizer in
// place of the reference authorizer the gateway runs in-process: on the public network under
// the alias "authorizer" (so it reaches the IdP at http://idp:8400, as a Lambda reaches the
// IdP over the internet), with the gateway started with --authorizer-url
// http://authorizer:8080. The image runs with its own entrypoint and command and must follow
// the Lambda container image contract:
//
//   - serve the Lambda Invoke API on port 8080, POST
//     /2015-03-31/functions/mcp-authorizer/invocations (the function named by the shipped
//     gateway configs' authorizerUri), as the Runtime Interface Emulator of AWS's base images
//     does with AWS_LAMBDA_FUNCTION_NAME, which it is given, or as `mcpsso lambda rie` does;
//   - answer the gateway's events: a REST API REQUEST authorizer (policy responses; the error
//     "Unauthorized" for a 401) with the reference profile, an HTTP API REQUEST authorizer
//     (payload 2.0, simple responses) with the seed profile.
//
// It gets the reference authorizer's configuration, the same the gateway's in-process
// authorizer gets: MCPSSO_AUTHORIZER_MODE (rest, or http with the seed profile),
// MCPSSO_AUTHORIZER_ISSUER (the IdP's issuer as tokens carry it, http://127.0.0.1:<port>),
// MCPSSO_AUTHORIZER_JWKS_URL (http://idp:8400/.well-known/jwks.json) and
// MCPSSO_AUTHORIZER_ROLE_STORE (file:/etc/mcpsso/roles.yaml, the fixture's sub → role, tags and
// limits mappings in the format of authorizer.ParseStoreYAML, copied into the container) and,
// with the reference profile, MCPSSO_AUTHORIZER_CONTEXT_PROOF_SECRET (the secret the MCP server
// checks the contextProof context key with: an authorizer that returns no valid proof has
// every request refused by the reference MCP server). An authorizer configured otherwise may
// ignore them.
//
// The authorizer is ready when its Invoke API answers HTTP at all: images need not print
// anything nor have a shell (testcontainers' port wait execs one inside the container), so
// the harness POSTs to the invocations path of a function that does not exist through the
// port published on 127.0.0.1 (Topology.AuthorizerURL) until any HTTP answer comes, within
// WithStartupTimeout; nothing is invoked, and Run fails early when the container exits.
// ReferenceAuthorizerImage builds such an image from the reference authorizer. The image is
// pulled when not present locally.
func WithAuthorizerImage(image string) Option {
	return func(s *settings) error {
		if err := checkImageRef("WithAuthorizerImage", image); err != nil {
			return err
		}
		s.authorizerImage = image
		return nil
	}
}

// AuthorizerImage is the WithAuthorizerImage image the topology runs, "" when the gateway runs
// the reference authorizer in-process.
func (t *Topology) AuthorizerImage() string { return t.authorizerImage }

// AuthorizerURL is the authorizer image's Invoke API base URL on the host (for
// gateway.LambdaInvoke), "" without WithAuthorizerImage.
func (t *Topology) AuthorizerURL() string { return t.authorizerURL }

// authorizerEnv is the reference authorizer's configuration in the topology. With the
// reference profile it signs every allow with the context proof secret the MCP server has.
func (t *Topology) authorizerEnv(mode string) map[string]string {
	env := map[string]string{
		authorizer.EnvPrefix + "MODE":       mode,
		authorizer.EnvPrefix + "ISSUER":     t.issuerURL,
		authorizer.EnvPrefix + "JWKS_URL":   "http://" + AliasIdP + ":8400" + t.idpProfile.JWKSPath(),
		authorizer.EnvPrefix + "ROLE_STORE": "file:" + rolesPath,
		// The MCP URL the gateway's metadata advertises (as the host calls it), and the alias.
		authorizer.EnvPrefix + "AUDIENCE": strings.Join(stack.Audiences(t.profile, t.MCPURL(), authorizer.DefaultAudience), ","),
	}
	if t.profile == stack.ProfileReference {
		env[authorizer.EnvPrefix+"CONTEXT_PROOF_SECRET"] = t.proofSecret
	}
	if t.idpProfile.Name != mockidp.ProfileGeneric {
		// Where the IdP profile puts the tenant, and the authorizer preset of the IdP, as the
		// embedded stack tells its authorizer (stack.IdPPresetOptions).
		env[authorizer.EnvPrefix+"TENANT_CLAIM"] = t.idpProfile.TenantClaim
		env[authorizer.EnvPrefix+"IDP_PRESET"] = t.idpProfile.Name
		if t.idpProfile.AudienceClaim == authorizer.AudienceFromClientID {
			var ids []string
			for _, c := range mockidp.DefaultClients() {
				ids = append(ids, c.ID)
			}
			env[authorizer.EnvPrefix+"CLIENT_IDS"] = strings.Join(ids, ",")
		}
		if aud := t.idpProfile.Audience; aud != "" {
			// The audience the IdP gives tokens for no resource (Okta's api://default, …).
			env[authorizer.EnvPrefix+"AUDIENCE"] = strings.Join(stack.Audiences(t.profile, t.MCPURL(), aud), ",")
		}
	}
	return env
}

// gatewayAuthorizer is how the gateway gets its authorizer: the flag, and the environment the
// in-process one is configured from.
func (t *Topology) gatewayAuthorizer(mode string) ([]string, map[string]string) {
	if t.authorizerImage != "" {
		return []string{"--authorizer-url", "http://" + AliasAuthorizer + ":" + strings.TrimSuffix(authorizerPort, "/tcp")}, nil
	}
	return []string{"--authorizer-from-env"}, t.authorizerEnv(mode)
}

// startAuthorizer starts the WithAuthorizerImage container, if any, and waits for its Invoke API.
func (t *Topology) startAuthorizer(ctx context.Context, cfg settings, mode string, roles []byte) error {
	t.authorizerImage = cfg.authorizerImage
	if cfg.authorizerImage == "" {
		return nil
	}
	hostPort, err := freePort()
	if err != nil {
		return err
	}
	env := t.authorizerEnv(mode)
	env["AWS_LAMBDA_FUNCTION_NAME"] = authorizerFunction
	ready := invokeAPIUp{url: "http://127.0.0.1:" + strconv.Itoa(hostPort) + authorizerProbePath}
	c, err := testcontainers.Run(ctx, cfg.authorizerImage,
		testcontainers.WithLabels(map[string]string{"mcpsso.component": AliasAuthorizer}),
		network.WithNetwork([]string{AliasAuthorizer}, t.public),
		testcontainers.WithEnv(env),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(roles), ContainerFilePath: rolesPath, FileMode: 0o644}),
		testcontainers.WithExposedPorts(authorizerPort), publishOn(authorizerPort, hostPort),
		testcontainers.WithWaitStrategyAndDeadline(cfg.timeout, ready))
	if c != nil {
		t.track(AliasAuthorizer, c)
	}
	if err != nil {
		return fmt.Errorf("containers: authorizer image %s: %w%s", cfg.authorizerImage, err, t.tail(ctx, AliasAuthorizer))
	}
	t.authorizerURL = "http://127.0.0.1:" + strconv.Itoa(hostPort)
	return nil
}

// invokeAPIUp waits until a Lambda Invoke API answers HTTP at url, on the host's loopback
// where the port is published. testcontainers' HTTP wait dials the Docker host's address,
// which is not loopback when the harness itself runs in a container or sandbox.
type invokeAPIUp struct{ url string }

// WaitUntilReady polls until any HTTP answer, and fails as soon as the container stops.
func (w invokeAPIUp) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}} // no proxy
	defer client.CloseIdleConnections()
	for {
		if st, err := target.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("the container stopped (%s, exit code %d) before its Invoke API answered", st.Status, st.ExitCode)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, strings.NewReader("{}"))
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no HTTP answer from the Invoke API at %s: %w", w.url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var (
	authorizerImageMu  sync.Mutex
	refAuthorizerImage string
)

// ReferenceAuthorizerImage builds (once per process) and returns a Lambda container image of
// the reference authorizer, FROM scratch: the static reference authorizer (its Lambda entry
// point, ./reference/authorizer/cmd/authorizer) behind `mcpsso lambda rie` on 0.0.0.0:8080 —
// ENTRYPOINT ["/mcpsso","lambda","rie","--addr","0.0.0.0:8080","--","/authorizer"] — tagged
// mcpsso-authorizer:<content hash>. It shows what WithAuthorizerImage expects. The mcpsso
// binary is $MCPSSO_BINARY when set; both are compiled from this module's source otherwise.
func ReferenceAuthorizerImage(ctx context.Context) (string, error) {
	authorizerImageMu.Lock()
	defer authorizerImageMu.Unlock()
	if refAuthorizerImage != "" {
		return refAuthorizerImage, nil
	}
	kit, err := kitBinary(ctx, os.Getenv(EnvBinary))
	if err != nil {
		return "", err
	}
	authz, err := StaticImageFile(ctx, "./reference/authorizer/cmd/authorizer", "authorizer")
	if err != nil {
		return "", err
	}
	files := []ImageFile{kit, authz}
	img, err := BuildScratchImage(ctx, AuthorizerImageRepo, files, "/mcpsso", "lambda", "rie", "--addr", "0.0.0.0:8080", "--", "/authorizer")
	if err != nil {
		return "", err
	}
	refAuthorizerImage = img
	return img, nil
}
