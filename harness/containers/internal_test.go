package containers

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/harness/fixture"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

func TestRoleStoreFromTheFixture(t *testing.T) {
	f := fixture.Default()
	b, err := roleStoreYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	store, err := authorizer.ParseStoreYAML(b)
	if err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	if store == nil || len(f.Mappings) == 0 || !strings.Contains(string(b), f.Mappings[0].Sub) {
		t.Fatalf("role store misses the fixture's mappings:\n%s", b)
	}
}

func TestBuildContextHoldsTheDockerfileAndTheBinary(t *testing.T) {
	archive, err := buildContext([]byte("binary"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
		if h.Name == "mcpsso" && h.Mode&0o111 == 0 {
			t.Errorf("the binary is not executable: mode %o", h.Mode)
		}
	}
	if files["mcpsso"] != "binary" || !strings.HasPrefix(files["Dockerfile"], "FROM scratch\n") {
		t.Fatalf("context files %v", files)
	}
}

func TestOptionsRejectBadInput(t *testing.T) {
	var s settings
	for _, o := range []Option{WithImage(""), WithProfile("prod"), WithStartupTimeout(0)} {
		if err := o(&s); err == nil {
			t.Errorf("accepted bad input: %+v", s)
		}
	}
}
