package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// listed is what `go list -json` says of a package (the fields asked for).
type listed struct {
	ImportPath   string
	Dir          string
	Imports      []string
	TestImports  []string
	XTestImports []string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Module       *struct{ Path, Dir string }
	Error        *struct{ Err string }
}

// listModule lists every package of the module this test is in.
func listModule(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,Imports,TestImports,XTestImports,GoFiles,TestGoFiles,XTestGoFiles,Module,Error", "./...")
	cmd.Dir = "../.." // internal/archtest → the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: package %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 || pkgs[0].Module == nil {
		t.Fatal("go list found no package of a module under ../..")
	}
	return pkgs
}

// dependOnTheModule makes the test's cached result depend on the module's Go files: go test
// caches a passing result keyed on the files the test itself opens or stats, and the `go list`
// it runs is another process, so without this an import added elsewhere would not rerun it.
// Walking opens every directory (a new file or package changes its listing) and each Go file
// and go.mod is stat'ed (an edit changes its size or time).
func dependOnTheModule(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// relative turns import paths of the module into module-relative ones and drops the others.
func relative(module string, paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == module {
			out = append(out, "")
		} else if r, ok := strings.CutPrefix(p, module+"/"); ok {
			out = append(out, r)
		}
	}
	return out
}

// where finds the import of path in files of dir: "file:line", module-relative.
func where(root, dir string, files []string, path string) string {
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == path {
				pos := fset.Position(imp.Pos())
				rel, _ := filepath.Rel(root, pos.Filename)
				return fmt.Sprintf("%s:%d", filepath.ToSlash(rel), pos.Line)
			}
		}
	}
	return "?"
}

// TestTheModuleKeepsTheDependencyRule reads the module's import graph and fails on every package
// in no layer and every import the rule forbids.
func TestTheModuleKeepsTheDependencyRule(t *testing.T) {
	listedPkgs := listModule(t)
	module, root := listedPkgs[0].Module.Path, listedPkgs[0].Module.Dir
	dependOnTheModule(t, root)
	byPath := map[string]listed{}
	var pkgs []Package
	for _, lp := range listedPkgs {
		rel := relative(module, []string{lp.ImportPath})
		if len(rel) == 0 {
			continue
		}
		byPath[rel[0]] = lp
		pkgs = append(pkgs, Package{
			Path:        rel[0],
			Imports:     relative(module, lp.Imports),
			TestImports: relative(module, slices.Concat(lp.TestImports, lp.XTestImports)),
		})
	}
	if _, ok := byPath["internal/scenarios/framework"]; !ok {
		t.Fatalf("go list did not list internal/scenarios/framework: not the mcpsso module? (module %s)", module)
	}
	for _, v := range Check(pkgs) {
		if v.To != "" {
			lp := byPath[v.From]
			files := lp.GoFiles
			if v.Test {
				files = slices.Concat(lp.TestGoFiles, lp.XTestGoFiles)
			}
			v.At = where(root, lp.Dir, files, module+"/"+v.To)
		}
		t.Error(v)
	}
}

// TestEveryLayerIsDocumented keeps docs/architecture.md and the table in step: each layer's
// name appears there in backquotes, and each named exception's two ends.
func TestEveryLayerIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Layers {
		if !bytes.Contains(doc, []byte("`"+l.Name+"`")) {
			t.Errorf("docs/architecture.md does not describe layer `%s`", l.Name)
		}
	}
	for _, e := range Exceptions {
		if !bytes.Contains(doc, []byte("`"+e.From+"` → `"+e.To+"`")) {
			t.Errorf("docs/architecture.md does not name the exception `%s` → `%s`", e.From, e.To)
		}
	}
}
