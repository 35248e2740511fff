package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
// when binary is ""), tagged mcpsso-kit:<hash of its content> (see BuildScratchImage), and
// keeps it; every component runs as `mcpsso <component> serve` from it. It builds at most once
// per binary per process.
func BuildImage(ctx context.Context, binary string) (string, error) {
	disableRyuk()
	imageMu.Lock()
	defer imageMu.Unlock()
	if img, ok := imageCache[binary]; ok {
		return img, nil
	}
	bin, err := kitBinary(ctx, binary)
	if err != nil {
		return "", err
	}
	img, err := BuildScratchImage(ctx, ImageRepo, []ImageFile{bin}, "/mcpsso")
	if err != nil {
		return "", err
	}
	imageCache[binary] = img
	return img, nil
}

// ImageFile is a file of an image built by BuildScratchImage.
type ImageFile struct {
	// Path inside the image, relative to / ("mcpsso", "etc/roles.yaml").
	Path       string
	Data       []byte
	Executable bool
}

// BuildScratchImage builds and keeps an image FROM scratch holding files, with entrypoint,
// tagged repo:<first 12 hex digits of the SHA-256 of its build context> so that the same
// content is the same tag. It is how the kit image, the sample third-party images of the tests
// and user-made variants are built with no base image to pull.
func BuildScratchImage(ctx context.Context, repo string, files []ImageFile, entrypoint ...string) (string, error) {
	disableRyuk()
	if repo == "" || len(entrypoint) == 0 {
		return "", errors.New("containers: BuildScratchImage: a repository and an entrypoint are required")
	}
	archive, err := buildContext(scratchDockerfile(files, entrypoint), files)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(archive)
	tag := hex.EncodeToString(sum[:])[:12]
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", fmt.Errorf("containers: Docker: %w", err)
	}
	defer provider.Close()
	var buildLog bytes.Buffer
	img, err := provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(archive), Repo: repo, Tag: tag, KeepImage: true, BuildLogWriter: &buildLog,
	}})
	if err != nil {
		return "", fmt.Errorf("containers: building %s:%s: %w\n%s", repo, tag, err, lastLines(buildLog.String(), 20))
	}
	return img, nil
}

// scratchDockerfile copies each file to its path and sets the entrypoint (JSON form, no shell:
// there is none in the image).
func scratchDockerfile(files []ImageFile, entrypoint []string) []byte {
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	for _, f := range files {
		fmt.Fprintf(&b, "COPY %s /%s\n", f.Path, f.Path)
	}
	ep, _ := json.Marshal(entrypoint)
	fmt.Fprintf(&b, "USER 0\nENTRYPOINT %s\n", ep)
	return []byte(b.String())
}

// BuildStatic compiles a main package of the module this process runs in (a path relative to
// the module root, such as "./reference/authorizer/cmd/authorizer") into a static Linux binary
// for the host's architecture, to out.
func BuildStatic(ctx context.Context, pkg, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("containers: go env GOMOD: %w (set %s or %s)", err, EnvImage, EnvBinary)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return fmt.Errorf("containers: not inside the mcpsso module: set %s or %s", EnvImage, EnvBinary)
	}
	// No -trimpath: the compiled packages are then the ones `go vet` and `go build` already left in
	// the build cache (as far as CGO_ENABLED=0 allows), which halves a cold build on CI.
	ctx, cancel := context.WithTimeout(ctx, staticBuildWithin)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	b, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return fmt.Errorf("containers: CGO_ENABLED=0 go build %s did not finish within %v (set %s to a prebuilt static binary to skip it)", pkg, staticBuildWithin, EnvBinary)
	case err != nil:
		return fmt.Errorf("containers: CGO_ENABLED=0 go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// staticBuildWithin bounds one static build: a cold one takes about a minute and a half on two
// cores.
const staticBuildWithin = 6 * time.Minute

// kitBinary is the static mcpsso binary as the image file "mcpsso": the file binary, or one
// compiled from this module's source when binary is "".
func kitBinary(ctx context.Context, binary string) (ImageFile, error) {
	if binary == "" {
		return StaticImageFile(ctx, "./harness/cmd/mcpsso", "mcpsso")
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return ImageFile{}, fmt.Errorf("containers: the mcpsso binary: %w", err)
	}
	return ImageFile{Path: "mcpsso", Data: data, Executable: true}, nil
}

// StaticImageFile compiles a main package of this module (BuildStatic) into an executable
// ImageFile at path, for BuildScratchImage.
func StaticImageFile(ctx context.Context, pkg, path string) (ImageFile, error) {
	dir, err := os.MkdirTemp("", "mcpsso-static-")
	if err != nil {
		return ImageFile{}, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "bin")
	if err := BuildStatic(ctx, pkg, out); err != nil {
		return ImageFile{}, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return ImageFile{}, fmt.Errorf("containers: the %s binary: %w", pkg, err)
	}
	return ImageFile{Path: path, Data: data, Executable: true}, nil
}

// buildContext is a tar archive with the Dockerfile and the files.
func buildContext(dockerfile []byte, files []ImageFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add("Dockerfile", 0o644, dockerfile); err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, "..") || f.Path == "Dockerfile" {
			return nil, fmt.Errorf("containers: image file path %q: must be relative, without \"..\", and not Dockerfile", f.Path)
		}
		mode := int64(0o644)
		if f.Executable {
			mode = 0o755
		}
		if err := add(f.Path, mode, f.Data); err != nil {
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
