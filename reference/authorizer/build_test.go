package authorizer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTheLambdaBuildsForProvidedAL2023 cross-compiles cmd/authorizer as the provided.al2023
// runtime wants it (a static bootstrap, without the RPC mode) for both Lambda architectures.
// The first run compiles the dependencies for linux/arm64 (about 30 s on two cores); later
// runs hit the build cache. -short skips it.
func TestTheLambdaBuildsForProvidedAL2023(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the cross-compilation is skipped")
	}
	gobin, err := exec.LookPath("go") // the go command running this test put itself on PATH
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	for _, arch := range []string{"arm64", "amd64"} {
		t.Run("the bootstrap builds for "+arch, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "bootstrap")
			cmd := exec.Command(gobin, "build", "-tags", "lambda.norpc", "-o", out, "./cmd/authorizer")
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=linux GOARCH=%s CGO_ENABLED=0 go build -tags lambda.norpc: %v\n%s", arch, err, msg)
			}
			if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
				t.Fatalf("no bootstrap: %v", err)
			}
		})
	}
}
