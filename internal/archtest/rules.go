// Package archtest holds the kit's dependency rule as data, and checks a module's import graph
// against it: which package may import which (docs/architecture.md explains each layer). Its
// test reads the module's real graph with `go list` and fails on every arrow the rule forbids,
// naming the importer, the imported package, the file and line of the import, and the rule.
package archtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A Layer is a group of packages with one job, and the layers they may import.
type Layer struct {
	// Name is how docs/architecture.md and failure messages call the layer.
	Name string
	// Packages are module-relative patterns: "a/b" is that package, "a/b/..." is it and every
	// package below it. A package belongs to the first layer (in Layers order) that matches it.
	Packages []string
	// May are the layers its packages may import, besides their own package.
	May []string
	// OwnComponent lets a package import the packages of its own component: those that share
	// its first two path elements (reference/authorizer/cmd/authorizer → reference/authorizer).
	OwnComponent bool
	// Rule says in words what the layer may import, and why; failure messages quote it.
	Rule string
}

// The layer names.
const (
	Tools        = "tools"
	ContextProof = "contextproof"
	Reference    = "reference"
	MockIdP      = "mockidp"
	AWSBase      = "awsemu base"
	AWSLeaf      = "awsemu leaf"
	AWSIdentity  = "awsemu identity"
	AWSService   = "awsemu service"
	AWSProxy     = "awsemu proxy"
	AWSEmulator  = "awsemu root"
	Binary       = "binary"
	Harness      = "harness"
	Framework    = "framework"
	Targets      = "targets"
	Registry     = "registry"
	Baselines    = "baselines"
	Suite        = "suite"
	Public       = "public"
)

// mocksAndReference are the layers below harness.
var mocksAndReference = []string{Reference, ContextProof, MockIdP, AWSBase, AWSLeaf, AWSIdentity, AWSService, AWSProxy, AWSEmulator}

// Layers is the rule, from the bottom up. Order matters only where patterns overlap: the more
// specific layer comes first. The tools are named one by one, since the kit's own layers
// (harness, mocks, scenarios) sit under internal/ too; a new tool is placed here.
var Layers = []Layer{
	{Name: Tools, Packages: []string{"internal/archtest", "internal/clidoc", "internal/doccheck", "internal/mcpcall", "internal/probe", "internal/serve/...", "internal/testreport"}, May: []string{Tools},
		Rule: "the tools under internal/ (not the kit's own layers there: harness, mocks, scenarios) are utilities with one job each (server lifecycle, MCP client calls, test report) that know nothing of the kit, so every layer may use them; they import only each other"},
	{Name: ContextProof, Packages: []string{"reference/contextproof"}, May: []string{Tools},
		Rule: "reference/contextproof is the one contract the authorizer and the MCP server must agree on (the signed decided context); it imports only tools"},
	{Name: Reference, Packages: []string{"reference/..."}, May: []string{ContextProof, Tools}, OwnComponent: true,
		Rule: "a reference component (reference/<component>/...) is what users deploy: it imports its own component, reference/contextproof and tools, never mocks, harness, scenarios or another component"},
	{Name: MockIdP, Packages: []string{"internal/mocks/mockidp/..."}, May: []string{Tools}, OwnComponent: true,
		Rule: "internal/mocks/mockidp is a stand-alone IdP: it imports only tools"},
	{Name: AWSBase, Packages: []string{"internal/mocks/awsemu/awserr", "internal/mocks/awsemu/query"}, May: []string{AWSBase, Tools},
		Rule: "awserr (the AWS error value) and query (the Query protocol) are the emulator's shared vocabulary: they import only each other and tools"},
	{Name: AWSLeaf, Packages: []string{"internal/mocks/awsemu/sigv4", "internal/mocks/awsemu/iampolicy", "internal/mocks/awsemu/cloudtrail", "internal/mocks/awsemu/ecscreds", "internal/mocks/awsemu/moto", "internal/mocks/awsemu/lambdarie"}, May: []string{AWSBase, Tools},
		Rule: "an emulator library (sigv4, iampolicy, cloudtrail, ecscreds, moto, lambdarie) does one thing on its own: it imports at most awserr and query, never another library or a service"},
	{Name: AWSIdentity, Packages: []string{"internal/mocks/awsemu/iam"}, May: []string{AWSBase, AWSLeaf, Tools},
		Rule: "internal/mocks/awsemu/iam is the identity core (accounts, principals, policies) every service asks: it imports the libraries, never a service"},
	{Name: AWSService, Packages: []string{"internal/mocks/awsemu/sts", "internal/mocks/awsemu/s3"}, May: []string{AWSBase, AWSLeaf, AWSIdentity, Tools},
		Rule: "a service front-end (sts, s3) imports the libraries and iam, never another service: what services share lives in iam"},
	{Name: AWSProxy, Packages: []string{"internal/mocks/awsemu/enforce"}, May: []string{AWSBase, AWSLeaf, AWSIdentity, AWSService, Tools},
		Rule: "internal/mocks/awsemu/enforce, the enforcing proxy in front of moto or LocalStack, decides as the services do: it imports services, iam and the libraries, never the emulator root"},
	{Name: AWSEmulator, Packages: []string{"internal/mocks/awsemu"}, May: []string{AWSBase, AWSLeaf, AWSIdentity, AWSService, AWSProxy, Tools},
		Rule: "internal/mocks/awsemu composes the emulator's packages into one endpoint: it imports any of them, nothing outside internal/mocks/awsemu but tools"},
	{Name: Public, Packages: []string{"mcpssotest"}, May: append([]string{Registry, Targets, Framework, Harness, Tools}, mocksAndReference...),
		Rule: "mcpssotest, the Go package for users' own go test, composes a stack (harness, targets) and the suites (internal/scenarios/all, framework); it exports only its own types, so nothing it imports is part of its API"},
	{Name: Binary, Packages: []string{"harness/cmd/mcpsso"}, May: append([]string{Harness, Framework, Registry, Baselines, Tools}, mocksAndReference...),
		Rule: "harness/cmd/mcpsso, the one binary, composes everything: harness, mocks, reference, and the scenarios through framework, internal/scenarios/all and internal/scenarios/baselines"},
	{Name: Harness, Packages: []string{"internal/harness/..."}, May: append([]string{Harness, Tools}, mocksAndReference...),
		Rule: "a harness package (fixture, iacimport, stack, containers, target, sample) wires mocks and reference into deployments: it imports harness, mocks, reference and tools, never scenarios"},
	{Name: Framework, Packages: []string{"internal/scenarios/framework"}, May: []string{Tools},
		Rule: "internal/scenarios/framework is the suites' one door to the kit: it imports tools, and mocks only through the named exceptions"},
	{Name: Targets, Packages: []string{"internal/scenarios/targets"}, May: append([]string{Framework, Harness, Tools}, mocksAndReference...),
		Rule: "internal/scenarios/targets builds framework Targets from harness and mocks: it imports framework, harness, mocks, reference and tools, never a suite"},
	{Name: Registry, Packages: []string{"internal/scenarios/all"}, May: []string{Suite, Targets, Framework},
		Rule: "internal/scenarios/all links every suite and target into the binary: it imports suites, targets and framework"},
	{Name: Baselines, Packages: []string{"internal/scenarios/baselines"}, May: nil,
		Rule: "internal/scenarios/baselines is data (the known-failures files): it imports nothing of the kit"},
	{Name: Suite, Packages: []string{"internal/scenarios/..."}, May: []string{Framework},
		Rule: "a suite (internal/scenarios/<suite>) imports only internal/scenarios/framework of the kit, so it runs against any target"},
}

// An Exception is one arrow the layers forbid that the rule allows by name.
type Exception struct {
	From, To string // module-relative package paths
	Why      string
}

// Exceptions are the named arrows outside the layers.
var Exceptions = []Exception{
	{From: "internal/scenarios/framework", To: "internal/mocks/awsemu/cloudtrail",
		Why: "Target.CloudTrail returns the kit's CloudTrail record type (the AWS record format); framework re-exports it as TrailEvent"},
	{From: "internal/scenarios/framework", To: "internal/mocks/mockidp",
		Why: "Target.Forge takes the mock IdP's forgery names and specs sign in as its public client; framework re-exports both"},
}

// testRoots are the layers a test may not import even with a test's latitude: composition
// roots, which nothing below them may depend on.
var testRoots = []string{Suite, Registry, Binary, Public}

// A Package is one package of the module and what it imports.
type Package struct {
	Path        string   // module-relative ("" for the module root)
	Imports     []string // module-relative, of the package's own files
	TestImports []string // module-relative, of its _test.go files (in either package)
}

// A Violation is an import the rule forbids, or a package in no layer.
type Violation struct {
	From, To string // module-relative; To is "" for a package in no layer
	Test     bool   // the import is in a _test.go file
	Layer    Layer  // the importer's layer (zero for a package in no layer)
	// At is where the import is ("file:line"), when the caller knows; Check does not.
	At string
}

func (v Violation) String() string {
	if v.To == "" {
		return fmt.Sprintf("package %s is in no layer: give it one in internal/archtest/rules.go and docs/architecture.md", v.From)
	}
	at := ""
	if v.At != "" {
		at = " at " + v.At
	}
	if v.Test {
		to := "no layer"
		if l, ok := LayerOf(v.To); ok {
			to = "layer " + strconv.Quote(l.Name)
		}
		return fmt.Sprintf("forbidden test import %s → %s%s: rule \"tests\": a test may import any package of the kit but a composition root (%s), and %s is in %s",
			v.From, v.To, at, strings.Join(testRoots, ", "), v.To, to)
	}
	return fmt.Sprintf("forbidden import %s → %s%s: rule %q: %s", v.From, v.To, at, v.Layer.Name, v.Layer.Rule)
}

// LayerOf returns the layer of a module-relative package path.
func LayerOf(path string) (Layer, bool) {
	for _, l := range Layers {
		for _, p := range l.Packages {
			if matches(p, path) {
				return l, true
			}
		}
	}
	return Layer{}, false
}

func matches(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// component is a package's first two path elements, not counting the internal/ that the kit's
// own layers (internal/harness, internal/mocks, internal/scenarios) sit under.
func component(path string) string {
	prefix := ""
	for _, kit := range []string{"internal/harness/", "internal/mocks/", "internal/scenarios/"} {
		if strings.HasPrefix(path, kit) {
			prefix, path = "internal/", strings.TrimPrefix(path, "internal/")
			break
		}
	}
	parts := strings.SplitN(path, "/", 3)
	return prefix + strings.Join(parts[:min(2, len(parts))], "/")
}

// Allowed reports whether from may import to: in its own files, or with test in its tests.
// Imports of packages outside the module are not the rule's business and are not passed in.
func Allowed(from, to string, test bool) bool {
	if from == to || slices.ContainsFunc(Exceptions, func(e Exception) bool { return e.From == from && e.To == to }) {
		return true
	}
	fl, ok1 := LayerOf(from)
	tl, ok2 := LayerOf(to)
	if !ok1 || !ok2 {
		return false
	}
	if slices.Contains(fl.May, tl.Name) || (fl.OwnComponent && fl.Name == tl.Name && component(from) == component(to)) {
		return true
	}
	return test && !slices.Contains(testRoots, tl.Name)
}

// Check returns every violation of the rule in pkgs: packages in no layer first, then forbidden
// imports in pkgs' order.
func Check(pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		if _, ok := LayerOf(p.Path); !ok {
			out = append(out, Violation{From: p.Path})
		}
	}
	for _, p := range pkgs {
		l, ok := LayerOf(p.Path)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if !Allowed(p.Path, imp, false) {
				out = append(out, Violation{From: p.Path, To: imp, Layer: l})
			}
		}
		for _, imp := range p.TestImports {
			if !Allowed(p.Path, imp, true) {
				out = append(out, Violation{From: p.Path, To: imp, Test: true, Layer: l})
			}
		}
	}
	return out
}
