package containers

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// EnvRequireDocker, set to 1 (CI sets it), turns "no Docker engine" from a skip into a failure.
const EnvRequireDocker = "MCPSSO_REQUIRE_DOCKER"

var ryukOnce sync.Once

// disableRyuk turns testcontainers-go's reaper off before its configuration is first read: the
// reaper is an image we cannot pull (no registry), so this package removes what it creates
// itself, on failure too.
func disableRyuk() {
	ryukOnce.Do(func() {
		if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
			_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		}
	})
}

// DockerAvailable reports whether a Docker engine answers, with the reason when none does.
func DockerAvailable(ctx context.Context) error {
	disableRyuk()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("containers: no Docker engine: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("containers: no Docker engine answers: %w", err)
	}
	return nil
}

// RequireDocker skips t when no Docker engine answers, or fails it when MCPSSO_REQUIRE_DOCKER=1.
func RequireDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no containers")
	}
	if err := DockerAvailable(context.Background()); err != nil {
		if os.Getenv(EnvRequireDocker) == "1" {
			t.Fatalf("%v (%s=1: container tests must run)", err, EnvRequireDocker)
		}
		t.Skipf("%v (set %s=1 to fail instead)", err, EnvRequireDocker)
	}
}
