package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/testcontainers/testcontainers-go"
)

// ImageRepo is the repository of the kit image built here and by `make images`.
const ImageRepo = "mcpsso-kit"

// EnvImage names a prebuilt kit image (for example from `make images`) to use instead of
// building one; EnvBinary names a static mcpsso binary to build the image from.
const (
	EnvImage  = "MCPSSO_IMAGE"
	EnvBinary = "MCPSSO_BINARY"
)

// Dockerfile is the kit image: the one static binary, nothing else. Every component runs as
// `mcpsso <component> serve`.
const Dockerfile = `FROM scratch
COPY mcpsso /mcpsso
USER 0
ENTRYPOINT ["/mcpsso"]
`

var (
	imageMu    sync.Mutex
	imageCache = map[string]string{} // binary path ("" for the built one) → image
)

// KitImage returns a kit image: $MCPSSO_IMAGE when set; otherwise one built (once per process)
// from $MCPSSO_BINARY or, without it, from a static mcpsso binary compiled from this module's
// source (CGO_ENABLED=0 go build ./harness/cmd/mcpsso; needs the Go toolchain and the source).
func KitImage(ctx context.Context) (string, error) {
	if img := os.Getenv(EnvImage); img != "" {
		return img, nil
	}
	return BuildImage(ctx, os.Getenv(EnvBinary))
}

// BuildImage builds the kit image FROM scratch from a static mcpsso binary (built from source
// when binary is ""), tagged mcpsso-kit:<first 12 hex digits of the binary's SHA-256>, and keeps
// it. It builds at most once per binary per process.
func BuildImage(ctx context.Context, binary string) (string, error) {
	disableRyuk()
	imageMu.Lock()
	defer imageMu.Unlock()
	if img, ok := imageCache[binary]; ok {
		return img, nil
	}
	path := binary
	if path == "" {
		dir, err := os.MkdirTemp("", "mcpsso-image-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "mcpsso")
		if err := BuildBinary(ctx, path); err != nil {
			return "", err
		}
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("containers: the mcpsso binary: %w", err)
	}
	sum := sha256.Sum256(bin)
	tag := hex.EncodeToString(sum[:])[:12]
	archive, err := buildContext(bin)
	if err != nil {
		return "", err
	}
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", fmt.Errorf("containers: Docker: %w", err)
	}
	defer provider.Close()
	var buildLog bytes.Buffer
	img, err := provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(archive), Repo: ImageRepo, Tag: tag, KeepImage: true, BuildLogWriter: &buildLog,
	}})
	if err != nil {
		return "", fmt.Errorf("containers: building %s:%s: %w\n%s", ImageRepo, tag, err, lastLines(buildLog.String(), 20))
	}
	imageCache[binary] = img
	return img, nil
}

// BuildBinary compiles the static mcpsso binary (CGO_ENABLED=0, GOOS=linux, the host's
// architecture) from the module this process runs in, to out.
func BuildBinary(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("containers: go env GOMOD: %w (set %s or %s)", err, EnvImage, EnvBinary)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return fmt.Errorf("containers: not inside the mcpsso module: set %s or %s", EnvImage, EnvBinary)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./harness/cmd/mcpsso")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("containers: CGO_ENABLED=0 go build ./harness/cmd/mcpsso: %w\n%s", err, b)
	}
	return nil
}

// buildContext is a tar archive with the Dockerfile and the binary.
func buildContext(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(Dockerfile)}, {"mcpsso", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, bytes.NewReader(f.data)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
