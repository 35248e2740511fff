package containers

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
)

// LocalStack images and the variables that choose them. The open-source image is archived:
// `community-archive` is its last free tag; `latest` needs an auth token (LocalStack for AWS,
// with ENFORCE_IAM as a paid feature).
const (
	LocalStackCommunityImage = "localstack/localstack:community-archive"
	LocalStackProImage       = "localstack/localstack:latest"

	// EnvLocalStackImage names another LocalStack image to run (a mirror, a pinned version).
	EnvLocalStackImage = "MCPSSO_LOCALSTACK_IMAGE"
	// EnvLocalStackAuthToken is LocalStack's own variable; when set, the `latest` image runs
	// with the token and ENFORCE_IAM=1.
	EnvLocalStackAuthToken = "LOCALSTACK_AUTH_TOKEN"
	// EnvRequireLocalStack, set to 1 (the LocalStack workflow sets it), turns "the LocalStack
	// image is not available" from a skip into a failure.
	EnvRequireLocalStack = "MCPSSO_REQUIRE_LOCALSTACK"

	localStackPort = "4566/tcp"
)

// LocalStackImage is the image RunLocalStack runs: $MCPSSO_LOCALSTACK_IMAGE when set, else
// LocalStackProImage when $LOCALSTACK_AUTH_TOKEN is set, else LocalStackCommunityImage.
func LocalStackImage() string {
	if img := os.Getenv(EnvLocalStackImage); img != "" {
		return img
	}
	if os.Getenv(EnvLocalStackAuthToken) != "" {
		return LocalStackProImage
	}
	return LocalStackCommunityImage
}

// LocalStack is a running LocalStack container.
type LocalStack struct {
	*localstack.LocalStackContainer
}

// RunLocalStack starts LocalStackImage() with testcontainers-go's LocalStack module, loading
// only IAM, STS and S3; with $LOCALSTACK_AUTH_TOKEN it passes the token and ENFORCE_IAM=1. opts
// come after these defaults (networks, aliases, a wait deadline). As testcontainers-go's
// modules do, it returns the container even on error, so the caller can remove it.
func RunLocalStack(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (*LocalStack, error) {
	disableRyuk()
	env := map[string]string{"SERVICES": "iam,sts,s3"}
	if tok := os.Getenv(EnvLocalStackAuthToken); tok != "" {
		env[EnvLocalStackAuthToken] = tok
		env["ENFORCE_IAM"] = "1"
	}
	img := LocalStackImage()
	c, err := localstack.Run(ctx, img, append([]testcontainers.ContainerCustomizer{testcontainers.WithEnv(env)}, opts...)...)
	var ls *LocalStack
	if c != nil {
		ls = &LocalStack{c}
	}
	if err != nil {
		return ls, fmt.Errorf("containers: LocalStack (%s): %w", img, err)
	}
	return ls, nil
}

// Endpoint is LocalStack's edge endpoint as the host reaches it, from the port Docker mapped
// for 4566 (the module has no such getter).
func (l *LocalStack) Endpoint(ctx context.Context) (string, error) {
	host, err := l.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("containers: LocalStack host: %w", err)
	}
	port, err := l.MappedPort(ctx, localStackPort)
	if err != nil {
		return "", fmt.Errorf("containers: LocalStack's mapped port for %s: %w", localStackPort, err)
	}
	return "http://" + net.JoinHostPort(host, port.Port()), nil
}

// dockerContainer is the testcontainers-go container under the module's wrapper, for the
// topology's bookkeeping.
func (l *LocalStack) dockerContainer() (*testcontainers.DockerContainer, error) {
	dc, ok := l.Container.(*testcontainers.DockerContainer)
	if !ok {
		return nil, fmt.Errorf("containers: LocalStack container is a %T, not a Docker container", l.Container)
	}
	return dc, nil
}

// LocalStackAvailable reports whether LocalStackImage() is present on the Docker engine or
// can be pulled, with the reason when neither. It pulls the image when missing, as the run
// would.
func LocalStackAvailable(ctx context.Context) error {
	if err := DockerAvailable(ctx); err != nil {
		return err
	}
	img := LocalStackImage()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("containers: no Docker engine: %w", err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, img); err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	resp, err := cli.ImagePull(ctx, img, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		_ = resp.Close()
	}
	if err != nil {
		return fmt.Errorf("containers: the LocalStack image %s is not on this Docker engine and cannot be pulled: %w", img, err)
	}
	return nil
}

// RequireLocalStack skips t when no Docker engine answers or LocalStackImage() is neither
// present nor pullable, or fails it when MCPSSO_REQUIRE_LOCALSTACK=1 (or, for the engine,
// MCPSSO_REQUIRE_DOCKER=1).
func RequireLocalStack(t testing.TB) {
	t.Helper()
	RequireDocker(t)
	if err := LocalStackAvailable(t.Context()); err != nil {
		if os.Getenv(EnvRequireLocalStack) == "1" {
			t.Fatalf("%v (%s=1: the LocalStack tests must run)", err, EnvRequireLocalStack)
		}
		t.Skipf("%v (set %s=1 to fail instead)", err, EnvRequireLocalStack)
	}
}
