package containers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/testcontainers/testcontainers-go"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// mcpMetricsPort is where the reference MCP server serves Prometheus metrics inside the
// internal network (mcp serve --metrics-addr); only the metrics relay reaches it.
const mcpMetricsPort = "9090"

// WithMCPImage runs a third party's MCP server image in the reference MCP server's place, in
// the MCP task (AliasTask: on the internal network under the alias "mcp") with no published port, so that the suites test
// that server behind the kit's gateway, authorizer, IdP and AWS emulator. The image runs with
// its own entrypoint and command, and must follow the contract the reference server follows:
//
//   - listen on 0.0.0.0:8080 and serve MCP over streamable HTTP at the path /mcp (the gateway
//     forwards the client's path, ${gateway}/mcp, to http://mcp:8080/mcp; hosts "mcp:8080" in
//     the Host header);
//   - take the AWS endpoint and region from AWS_ENDPOINT_URL (http://aws:4566, a bare host
//     name, so S3 must be addressed path-style) and AWS_REGION (us-east-1), and its own
//     credentials, the task role, from the SDK default chain exactly as on Fargate:
//     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (/v2/credentials/<id>, fetched from
//     http://169.254.170.2 without a token); AWS_EC2_METADATA_DISABLED=true turns IMDS off;
//   - know the caller only from the headers the gateway injects (a client's own are replaced):
//     x-decided-role, the role ARN to assume (arn:aws:iam::<account>:role/<name>);
//     x-source-identity, the STS source identity (usr-<sub>); x-session-tags, the session
//     tags as JSON, [{"Key":"tenant","Value":"acme"}]; x-limits, optional,
//     {"requestsPerMinute":N,"sessionSeconds":N} or {}. For each call it should AssumeRole the
//     decided role with that SourceIdentity and those Tags, and act with that session only;
//   - believe those headers only from the gateway: the gateway always forwards x-context-proof,
//     the authorizer's HMAC-SHA256 over them, the method, the path, a nonce and the time
//     (format and algorithm: package reference/contextproof), and the image gets the secret as
//     MCPSSO_CONTEXT_PROOF_SECRET (reference profile). The direct-mcp specs reach the server
//     without the gateway, as another service in the VPC could (Topology.MCPDirectURL), and
//     fail a server that acts on forged headers there; checking the proof is one way to pass.
//
// The server is ready when mcp:8080 accepts a TCP connection: images need not print anything
// nor have a shell (testcontainers' port wait execs one inside the container), so a
// short-lived probe container of the kit image (`mcpsso vpc wait-tcp`) on the internal network
// waits for it, within WithStartupTimeout; Run fails early when the server's container exits.
// A third-party server has no known metrics endpoint, so Topology.MetricsURL is unsupported.
// The image is pulled when not present locally.
func WithMCPImage(image string) Option {
	return func(s *settings) error {
		if err := checkImageRef("WithMCPImage", image); err != nil {
			return err
		}
		s.mcpImage = image
		return nil
	}
}

// checkImageRef refuses what cannot be an image reference, naming the option.
func checkImageRef(option, image string) error {
	if image == "" {
		return fmt.Errorf("containers: %s: empty image reference", option)
	}
	if strings.HasPrefix(image, "-") || strings.IndexFunc(image, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("containers: %s %q: an image reference holds no spaces or control characters and does not start with '-'", option, image)
	}
	return nil
}

// MCPImage is the third-party MCP server image the topology runs (WithMCPImage), "" when it
// runs the reference MCP server from the kit image.
func (t *Topology) MCPImage() string { return t.mcpImage }

// startMCP starts the MCP server on the internal network: the reference server from the kit
// image (with its metrics behind the relay), or the WithMCPImage image.
func (t *Topology) startMCP(ctx context.Context, cfg settings) error {
	t.mcpImage = cfg.mcpImage
	env := t.taskEnv()
	if t.profile == stack.ProfileReference {
		env[mcpserver.EnvContextProofSecret] = t.proofSecret
	}
	if cfg.mcpImage == "" {
		args := []string{"mcp", "serve", "--addr", "0.0.0.0:" + mcpPort, "--metrics-addr", "0.0.0.0:" + mcpMetricsPort,
			"--s3-path-style", "--allowed-host", AliasMCP + ":" + mcpPort,
			// The gateway's own origin, as every kit-made stack allows it (its preflights are
			// the gateway's, for the same origin).
			"--allowed-origin", t.gatewayURL}
		if t.profile == stack.ProfileSeed {
			args = append(args, "--insecure-unproven-context") // the tutorial's server believes any caller
		}
		if _, err := t.start(ctx, cfg, AliasMCP, args, readyLine(), t.inTask(), testcontainers.WithEnv(env)); err != nil {
			return err
		}
		return t.startMetricsRelay(ctx, cfg)
	}

	c, err := testcontainers.Run(ctx, cfg.mcpImage,
		testcontainers.WithLabels(map[string]string{"mcpsso.component": AliasMCP}),
		t.inTask(),
		testcontainers.WithEnv(env))
	if c != nil {
		t.track(AliasMCP, c)
	}
	if err != nil {
		return fmt.Errorf("containers: MCP server image %s: %w%s", cfg.mcpImage, err, t.tail(ctx, AliasMCP))
	}
	if err := t.waitMCPListening(ctx, cfg.timeout); err != nil {
		return fmt.Errorf("containers: MCP server image %s: %w%s", cfg.mcpImage, err, t.tail(ctx, AliasMCP))
	}
	return nil
}

// waitMCPListening runs `mcpsso vpc wait-tcp` on the internal network until mcp:8080 accepts a
// connection, and gives up at once if the MCP server's container stops.
func (t *Topology) waitMCPListening(ctx context.Context, timeout time.Duration) error {
	p, err := t.startProbe(ctx, probeOnInternal, nil, "vpc", "wait-tcp", "--addr", AliasMCP+":"+mcpPort, "--timeout", timeout.String())
	if err != nil {
		return err
	}
	defer p.remove()
	mcp := t.Container(AliasMCP)
	deadline := time.Now().Add(timeout + 15*time.Second) // the probe's own timeout comes first
	for {
		if st, err := mcp.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("the container stopped (%s, exit code %d) before listening on %s:%s", st.Status, st.ExitCode, AliasMCP, mcpPort)
		}
		if code, out, done, err := p.result(ctx); err != nil {
			return err
		} else if done {
			if code != 0 {
				return fmt.Errorf("not listening on %s:%s: %s", AliasMCP, mcpPort, strings.TrimSpace(out))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the readiness probe did not finish within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
}

var (
	sampleMu    sync.Mutex
	sampleImage string
)

// BuildTaskRoleSample builds (once per process) and returns the image of a deliberately WRONG
// third-party MCP server, for demonstrating WithMCPImage and `conform --mcp-image`: it serves
// the reference server's tools with the same names and arguments, but ignores x-decided-role
// and acts for every caller with the task role's own credentials from the default chain. On a
// correct deployment the task role may only assume the target roles, so its S3 calls are
// denied and its whoami names the task role; the suites fail it. Its source is
// internal/harness/containers/testdata/taskrolemcp (it needs the Go toolchain and this module's source).
func BuildTaskRoleSample(ctx context.Context) (image string, err error) {
	sampleMu.Lock()
	defer sampleMu.Unlock()
	if sampleImage != "" {
		return sampleImage, nil
	}
	bin, err := StaticImageFile(ctx, "./internal/harness/containers/testdata/taskrolemcp", "taskrolemcp")
	if err != nil {
		return "", err
	}
	img, err := BuildScratchImage(ctx, "mcpsso-taskrolemcp", []ImageFile{bin}, "/taskrolemcp")
	if err != nil {
		return "", err
	}
	sampleImage = img
	return img, nil
}
