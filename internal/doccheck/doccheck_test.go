package doccheck

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// update pastes each Go snippet's code into the docs instead of failing on a difference.
var update = flag.Bool("update", false, "rewrite the docs' Go snippets from the code they name")

// root is the repository, from this package's directory.
var root = filepath.Join("..", "..")

// pending are files that docs may link to before they exist here, each with where it is being
// written; a link to any other missing file fails.
var pending = map[string]string{
	"docs/architecture.md": "the package dependency rule, written on another branch (issue 17 item 3)",
}

// markdownFiles are the documents a reader is sent to: README.md, every .md under docs/, and
// the READMEs beside the code.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out, "README.md") {
		t.Fatalf("no README.md under %s", root)
	}
	return out
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snippetMarker precedes every ```go block: the file (from the repository root) and, after #,
// the function whose body the block is; without #, the block is the whole file.
var snippetMarker = regexp.MustCompile(`^<!-- snippet: ([^ #]+)(?:#([A-Za-z_][A-Za-z0-9_]*))? -->$`)

// goBlock is a ```go block of a Markdown file.
type goBlock struct {
	line         int    // of the opening fence
	end          int    // of the closing fence
	marker       string // the previous non-blank line
	text, indent string
}

func goBlocks(doc string) []goBlock {
	var out []goBlock
	lines := strings.Split(doc, "\n")
	prev := ""
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if trimmed == "```go" {
			indent := lines[i][:strings.Index(lines[i], "```")]
			b := goBlock{line: i + 1, marker: prev, indent: indent}
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				body = append(body, strings.TrimPrefix(lines[i], indent))
			}
			b.text = strings.Join(body, "\n")
			b.end = i + 1
			out = append(out, b)
			prev = ""
			continue
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	return out
}

// functionBody is the body of the named top-level function of a Go file, without its braces,
// dedented by one tab.
func functionBody(src, name string) (string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != name {
			continue
		}
		body := src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]
		lines := strings.Split(strings.Trim(body, "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "\t")
		}
		return strings.Join(lines, "\n"), nil
	}
	return "", fmt.Errorf("no function %s", name)
}

// TestEveryGoSnippetIsCompiledCode: a Go snippet in the docs is the body of a function (an
// Example, or a function an Example or a test runs) or a whole file of the repository, named by
// the marker line above it, character for character, so no snippet can drift from code that
// compiles (and runs).
func TestEveryGoSnippetIsCompiledCode(t *testing.T) {
	snippets := 0
	for _, doc := range markdownFiles(t) {
		text := read(t, doc)
		blocks := goBlocks(text)
		lines := strings.Split(text, "\n")
		updated := false
		for k := len(blocks) - 1; k >= 0; k-- { // last first, so that a rewrite keeps earlier lines in place
			b := blocks[k]
			snippets++
			m := snippetMarker.FindStringSubmatch(b.marker)
			if m == nil {
				t.Errorf("%s:%d: a ```go block must follow a line <!-- snippet: path/to/file_test.go#ExampleName --> naming the compiled code it shows; it follows %q",
					doc, b.line, b.marker)
				continue
			}
			file, fn := m[1], m[2]
			if !strings.HasSuffix(file, ".go") {
				t.Errorf("%s:%d: the snippet names %s, not a Go file", doc, b.line, file)
				continue
			}
			src := read(t, file)
			want := strings.TrimRight(src, "\n")
			if fn != "" {
				var err error
				if want, err = functionBody(src, fn); err != nil {
					t.Errorf("%s:%d: %s: %v", doc, b.line, file, err)
					continue
				}
			}
			got := strings.TrimRight(b.text, "\n")
			if got == want {
				continue
			}
			if *update {
				code := strings.Split(want, "\n")
				for i, l := range code {
					if l != "" {
						code[i] = b.indent + l
					}
				}
				lines = slices.Concat(lines[:b.line], code, lines[b.end-1:])
				updated = true
				continue
			}
			name := file
			if fn != "" {
				name += "#" + fn
			}
			t.Errorf("%s:%d: the snippet differs from %s (go test ./internal/doccheck -update pastes it):\n%s", doc, b.line, name, firstDifference(got, want))
		}
		if updated {
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(doc)), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: Go snippets pasted from the code", doc)
		}
	}
	if snippets == 0 {
		t.Error("no Go snippet found in the docs: the check is looking in the wrong place")
	}
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("  line %d of the snippet: %q\n  line %d of the code:    %q", i+1, gl, i+1, wl)
		}
	}
	return ""
}

func TestGoBlocksAndFunctionBodies(t *testing.T) {
	doc := "text\n<!-- snippet: a.go#ExampleX -->\n\n```go\nfmt.Println(1)\n```\n- item\n  ```go\n  x := 1\n  ```\n"
	blocks := goBlocks(doc)
	if len(blocks) != 2 || blocks[0].marker != "<!-- snippet: a.go#ExampleX -->" || blocks[0].text != "fmt.Println(1)" ||
		blocks[0].line != 4 || blocks[0].end != 6 || blocks[1].marker != "- item" || blocks[1].text != "x := 1" || blocks[1].indent != "  " {
		t.Fatalf("goBlocks: %+v", blocks)
	}
	src := "package p\n\nfunc ExampleX() {\n\tif true {\n\t\tprintln(1)\n\t}\n\t// Output: 1\n}\n"
	body, err := functionBody(src, "ExampleX")
	if want := "if true {\n\tprintln(1)\n}\n// Output: 1"; err != nil || body != want {
		t.Fatalf("functionBody: %q, %v; want %q", body, err, want)
	}
	if _, err := functionBody(src, "ExampleY"); err == nil {
		t.Fatal("functionBody found a function that is not there")
	}
}

// link is a Markdown link target outside code.
var linkRe = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// links are the link targets of a Markdown document, with their lines, outside fenced blocks
// and inline code.
func links(doc string) map[int][]string {
	out := map[int][]string{}
	fenced := false
	for i, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for j := 0; j < len(parts); j += 2 { // outside inline code
			for _, m := range linkRe.FindAllStringSubmatch(parts[j], -1) {
				out[i+1] = append(out[i+1], m[1])
			}
		}
	}
	return out
}

// anchors are the heading anchors GitHub makes for a Markdown document.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	fenced := false
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		slug := slugify(strings.TrimLeft(line, "# "))
		a := slug
		for n := 1; out[a]; n++ {
			a = fmt.Sprintf("%s-%d", slug, n)
		}
		out[a] = true
	}
	return out
}

// slugify is GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens.
func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func TestSlugify(t *testing.T) {
	for heading, want := range map[string]string{
		"Develop locally: `mcpsso up`":                   "develop-locally-mcpsso-up",
		"AWS backends: moto and LocalStack behind the …": "aws-backends-moto-and-localstack-behind-the-",
		"What the tutorial gets wrong":                   "what-the-tutorial-gets-wrong",
	} {
		if got := slugify(heading); got != want {
			t.Errorf("slugify(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestEveryLinkResolves: every relative link of the docs names a file (or directory) of the
// repository, and every #anchor a heading of its document.
func TestEveryLinkResolves(t *testing.T) {
	checked := 0
	for _, doc := range markdownFiles(t) {
		for line, targets := range links(read(t, doc)) {
			for _, target := range targets {
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				path, anchor, _ := strings.Cut(target, "#")
				file := doc
				if path != "" {
					file = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(doc), path)))
					if _, err := os.Stat(filepath.Join(root, file)); err != nil {
						if _, ok := pending[file]; !ok {
							t.Errorf("%s:%d: the link %s names %s, which does not exist", doc, line, target, file)
						}
						continue
					}
				}
				if anchor != "" && strings.HasSuffix(file, ".md") && !anchors(read(t, file))[anchor] {
					t.Errorf("%s:%d: the link %s names #%s, which is no heading of %s", doc, line, target, anchor, file)
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no relative link found in the docs: the check is looking in the wrong place")
	}
}

// citedDoc is a repository document a Go comment cites.
var citedDoc = regexp.MustCompile(`\b(?:docs|reference|mocks|harness|scenarios)/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b|\bREADME\.md\b`)

// notInRepo are citations of design notes kept outside the repository.
var notInRepo = regexp.MustCompile(`/work/shared|\bfacts/|facts sheet|\bDESIGN\.md|sso-mcp-on-aws-tutorial`)

// TestCommentsCiteDocumentsInTheRepository: a Go file that names a document names one that
// exists here (or an AWS, RFC or spec page), never a design note kept elsewhere.
func TestCommentsCiteDocumentsInTheRepository(t *testing.T) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || filepath.Base(filepath.Dir(path)) == "doccheck" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(b), "\n") {
			if m := notInRepo.FindString(line); m != "" {
				t.Errorf("%s:%d: cites %q, a design note outside this repository: cite a file here or an AWS/RFC/spec page", rel, i+1, m)
			}
			for _, doc := range citedDoc.FindAllString(line, -1) {
				if doc == "README.md" {
					continue // a bare README.md is an S3 object key in the fixtures as often as a document
				}
				if _, err := os.Stat(filepath.Join(root, doc)); err != nil {
					if _, ok := pending[doc]; !ok {
						t.Errorf("%s:%d: cites %s, which does not exist", rel, i+1, doc)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
