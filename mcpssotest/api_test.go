package mcpssotest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The exported API names no type of the kit's other packages, so that they can change, or move
// under internal/, without breaking a user: every exported function's signature, exported
// type, exported field and exported variable is checked for a kit import.
func TestTheAPIExposesOnlyItsOwnTypes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		kit := map[string]string{} // import name → path, for the kit's packages
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "github.com/mcpsso/mcpsso/") {
				continue
			}
			n := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				n = imp.Name.Name
			}
			kit[n] = path
		}
		check := func(what string, node ast.Node) {
			checked++
			ast.Inspect(node, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && kit[x.Name] != "" {
						t.Errorf("%s: %s shows %s.%s of %s", fset.Position(sel.Pos()), what, x.Name, sel.Sel.Name, kit[x.Name])
					}
				}
				return true
			})
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && (d.Recv == nil || exportedReceiver(d.Recv)) {
					check("func "+d.Name.Name, d.Type)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							checkType(s, check)
						}
					case *ast.ValueSpec:
						for i, n := range s.Names {
							if !n.IsExported() {
								continue
							}
							if s.Type != nil {
								check(n.Name, s.Type)
							}
							if i < len(s.Values) {
								check(n.Name, s.Values[i])
							}
						}
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d exported declarations: the test is looking in the wrong place", checked)
	}
}

func exportedReceiver(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// checkType checks an exported type: a struct's exported fields, or the whole type otherwise.
func checkType(s *ast.TypeSpec, check func(string, ast.Node)) {
	st, ok := s.Type.(*ast.StructType)
	if !ok {
		check("type "+s.Name.Name, s.Type)
		return
	}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.IsExported() {
				check(s.Name.Name+"."+n.Name, f.Type)
			}
		}
	}
}
