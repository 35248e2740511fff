package containers

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
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
	files := []ImageFile{{Path: "mcpsso", Data: []byte("binary"), Executable: true}}
	archive, err := buildContext(scratchDockerfile(files, []string{"/mcpsso"}), files)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
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
		got[h.Name] = string(b)
		if h.Name == "mcpsso" && h.Mode&0o111 == 0 {
			t.Errorf("the binary is not executable: mode %o", h.Mode)
		}
	}
	want := "FROM scratch\nCOPY mcpsso /mcpsso\nUSER 0\nENTRYPOINT [\"/mcpsso\"]\n"
	if got["mcpsso"] != "binary" || got["Dockerfile"] != want {
		t.Fatalf("context files %q, want the binary and Dockerfile %q", got, want)
	}
	for _, bad := range []string{"", "/abs", "../up", "Dockerfile"} {
		if _, err := buildContext(nil, []ImageFile{{Path: bad}}); err == nil {
			t.Errorf("buildContext accepted the path %q", bad)
		}
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
