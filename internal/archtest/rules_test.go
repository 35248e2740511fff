package archtest

import (
	"strings"
	"testing"
)

func TestTheLayerTableIsWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, l := range Layers {
		if names[l.Name] {
			t.Errorf("layer %q is declared twice", l.Name)
		}
		names[l.Name] = true
		if l.Rule == "" || len(l.Packages) == 0 {
			t.Errorf("layer %q has no rule text or no packages", l.Name)
		}
	}
	for _, l := range Layers {
		for _, m := range l.May {
			if !names[m] {
				t.Errorf("layer %q may import layer %q, which is not declared", l.Name, m)
			}
		}
	}
	for _, e := range Exceptions {
		if Allowed(e.From, e.To, false) != true || e.Why == "" {
			t.Errorf("exception %s → %s is not honoured or has no reason", e.From, e.To)
		}
	}
}

func TestLayerOf(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"internal/serve", Tools},
		{"reference/contextproof", ContextProof},
		{"reference/authorizer/cmd/authorizer", Reference},
		{"mocks/mockidp", MockIdP},
		{"mocks/awsemu/query", AWSBase},
		{"mocks/awsemu/iampolicy", AWSLeaf},
		{"mocks/awsemu/iam", AWSIdentity},
		{"mocks/awsemu/s3", AWSService},
		{"mocks/awsemu/enforce", AWSProxy},
		{"mocks/awsemu", AWSEmulator},
		{"harness/cmd/mcpsso", Binary},
		{"harness/stack", Harness},
		{"scenarios/framework", Framework},
		{"scenarios/all", Registry},
		{"scenarios/trust", Suite},
	} {
		if l, _ := LayerOf(tc.path); l.Name != tc.want {
			t.Errorf("LayerOf(%s) = %q, want %q", tc.path, l.Name, tc.want)
		}
	}
	for _, p := range []string{"mocks/awsemu/dynamodb", "mocks/other", "docs", "harnessx"} {
		if l, ok := LayerOf(p); ok {
			t.Errorf("LayerOf(%s) = %q: a package nobody placed must be in no layer", p, l.Name)
		}
	}
}

// Each row is one arrow; want is the importer's layer named in the violation, or "" when the
// rule allows the arrow.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		test     bool
		want     string
	}{
		{"a service imports the identity core", "mocks/awsemu/sts", "mocks/awsemu/iam", false, ""},
		{"a service imports another service", "mocks/awsemu/s3", "mocks/awsemu/sts", false, AWSService},
		{"the identity core imports a service", "mocks/awsemu/iam", "mocks/awsemu/sts", false, AWSIdentity},
		{"a library imports the error vocabulary", "mocks/awsemu/sigv4", "mocks/awsemu/awserr", false, ""},
		{"a library imports another library", "mocks/awsemu/cloudtrail", "mocks/awsemu/iampolicy", false, AWSLeaf},
		{"the proxy imports the services", "mocks/awsemu/enforce", "mocks/awsemu/s3", false, ""},
		{"the proxy imports the emulator root", "mocks/awsemu/enforce", "mocks/awsemu", false, AWSProxy},
		{"the emulator root imports the proxy", "mocks/awsemu", "mocks/awsemu/enforce", false, ""},
		{"the emulator imports the IdP", "mocks/awsemu", "mocks/mockidp", false, AWSEmulator},
		{"the IdP imports the emulator", "mocks/mockidp", "mocks/awsemu/cloudtrail", false, MockIdP},
		{"the IdP imports a tool", "mocks/mockidp", "internal/serve", false, ""},
		{"a reference command imports its component", "reference/mcpserver/cmd/mcpserver", "reference/mcpserver", false, ""},
		{"a reference component imports the context proof", "reference/authorizer", "reference/contextproof", false, ""},
		{"a reference component imports another component", "reference/authorizer", "reference/gateway", false, Reference},
		{"a reference component imports a mock", "reference/mcpserver", "mocks/awsemu", false, Reference},
		{"a reference component imports harness", "reference/authorizer", "harness/fixture", false, Reference},
		{"a reference test imports harness", "reference/authorizer", "harness/fixture", true, ""},
		{"the context proof imports a component", "reference/contextproof", "reference/authorizer", false, ContextProof},
		{"harness imports mocks and reference", "harness/stack", "reference/gateway", false, ""},
		{"harness imports a scenario package", "harness/stack", "scenarios/framework", false, Harness},
		{"a tool imports harness", "internal/serve", "harness/stack", false, Tools},
		{"the binary imports the suite registry", "harness/cmd/mcpsso", "scenarios/all", false, ""},
		{"the binary imports a suite directly", "harness/cmd/mcpsso", "scenarios/trust", false, Binary},
		{"a suite imports framework", "scenarios/trust", "scenarios/framework", false, ""},
		{"a suite imports harness", "scenarios/bootstrap", "harness/stack", false, Suite},
		{"a suite imports a mock", "scenarios/bootstrap", "mocks/mockidp", false, Suite},
		{"a suite imports another suite", "scenarios/trust", "scenarios/abac", false, Suite},
		{"a suite imports a tool", "scenarios/trust", "internal/mcpcall", false, Suite},
		{"a suite's test imports the targets", "scenarios/trust", "scenarios/targets", true, ""},
		{"a suite's test imports another suite", "scenarios/trust", "scenarios/abac", true, Suite},
		{"a mock's test imports the suite registry", "mocks/awsemu", "scenarios/all", true, AWSEmulator},
		{"framework imports the CloudTrail records (named exception)", "scenarios/framework", "mocks/awsemu/cloudtrail", false, ""},
		{"framework imports the mock IdP (named exception)", "scenarios/framework", "mocks/mockidp", false, ""},
		{"framework imports another mock", "scenarios/framework", "mocks/awsemu/iam", false, Framework},
		{"framework imports harness", "scenarios/framework", "harness/stack", false, Framework},
		{"the targets import harness and mocks", "scenarios/targets", "harness/stack", false, ""},
		{"the targets import a suite", "scenarios/targets", "scenarios/trust", false, Targets},
		{"the registry imports a suite", "scenarios/all", "scenarios/trust", false, ""},
		{"the baselines import framework", "scenarios/baselines", "scenarios/framework", false, Baselines},
		{"the public package imports the registry and harness", "mcpssotest", "scenarios/all", false, ""},
		{"the public package imports a suite directly", "mcpssotest", "scenarios/trust", false, Public},
		{"the public package imports the binary", "mcpssotest", "harness/cmd/mcpsso", false, Public},
		{"harness imports the public package", "harness/stack", "mcpssotest", false, Harness},
		{"a harness test imports the public package", "harness/stack", "mcpssotest", true, Harness},
		{"a package imports one in no layer", "harness/stack", "mocks/other", false, Harness},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Package{Path: tc.from}
			if tc.test {
				p.TestImports = []string{tc.to}
			} else {
				p.Imports = []string{tc.to}
			}
			vs := Check([]Package{p})
			switch {
			case tc.want == "" && len(vs) > 0:
				t.Fatalf("%s → %s: want allowed, got %v", tc.from, tc.to, vs)
			case tc.want != "" && len(vs) != 1:
				t.Fatalf("%s → %s: want one violation of rule %q, got %v", tc.from, tc.to, tc.want, vs)
			case tc.want != "":
				if vs[0].Layer.Name != tc.want {
					t.Errorf("violation names the importer's layer %q, want %q", vs[0].Layer.Name, tc.want)
				}
				msg := vs[0].String()
				want := []string{"forbidden import " + tc.from + " → " + tc.to + ": ", `rule "` + tc.want + `"`, vs[0].Layer.Rule}
				if tc.test {
					want = []string{"forbidden test import " + tc.from + " → " + tc.to + ": ", `rule "tests"`, "composition root (suite, registry, binary, public)"}
				}
				for _, part := range want {
					if !strings.Contains(msg, part) {
						t.Errorf("message %q does not say %q", msg, part)
					}
				}
			}
		})
	}
}

func TestATestViolationNamesTheLayerOfWhatItImports(t *testing.T) {
	vs := Check([]Package{{Path: "mocks/mockidp", TestImports: []string{"scenarios/all"}}})
	want := `forbidden test import mocks/mockidp → scenarios/all: rule "tests": a test may import any package of the kit but a composition root (suite, registry, binary, public), and scenarios/all is in layer "registry"`
	if len(vs) != 1 || vs[0].String() != want {
		t.Fatalf("Check = %v\nwant  %s", vs, want)
	}
}

func TestCheckNamesAPackageInNoLayer(t *testing.T) {
	vs := Check([]Package{{Path: "mocks/awsemu/dynamodb", Imports: []string{"mocks/awsemu/awserr"}}})
	if len(vs) != 1 || vs[0].String() != "package mocks/awsemu/dynamodb is in no layer: give it one in internal/archtest/rules.go and docs/architecture.md" {
		t.Fatalf("Check = %v, want the one package in no layer", vs)
	}
}

func TestAViolationSaysWhereTheImportIs(t *testing.T) {
	l, _ := LayerOf("scenarios/trust")
	v := Violation{From: "scenarios/trust", To: "harness/stack", Layer: l, At: "scenarios/trust/helpers.go:20"}
	want := `forbidden import scenarios/trust → harness/stack at scenarios/trust/helpers.go:20: rule "suite": ` + l.Rule
	if v.String() != want {
		t.Fatalf("got  %s\nwant %s", v, want)
	}
}
