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
		{"internal/mocks/mockidp", MockIdP},
		{"internal/mocks/awsemu/query", AWSBase},
		{"internal/mocks/awsemu/iampolicy", AWSLeaf},
		{"internal/mocks/awsemu/iam", AWSIdentity},
		{"internal/mocks/awsemu/s3", AWSService},
		{"internal/mocks/awsemu/enforce", AWSProxy},
		{"internal/mocks/awsemu", AWSEmulator},
		{"harness/cmd/mcpsso", Binary},
		{"internal/harness/stack", Harness},
		{"internal/scenarios/framework", Framework},
		{"internal/scenarios/all", Registry},
		{"internal/scenarios/trust", Suite},
	} {
		if l, _ := LayerOf(tc.path); l.Name != tc.want {
			t.Errorf("LayerOf(%s) = %q, want %q", tc.path, l.Name, tc.want)
		}
	}
	for _, p := range []string{"internal/mocks/awsemu/dynamodb", "internal/mocks/other", "docs", "harnessx"} {
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
		{"a service imports the identity core", "internal/mocks/awsemu/sts", "internal/mocks/awsemu/iam", false, ""},
		{"a service imports another service", "internal/mocks/awsemu/s3", "internal/mocks/awsemu/sts", false, AWSService},
		{"the identity core imports a service", "internal/mocks/awsemu/iam", "internal/mocks/awsemu/sts", false, AWSIdentity},
		{"a library imports the error vocabulary", "internal/mocks/awsemu/sigv4", "internal/mocks/awsemu/awserr", false, ""},
		{"a library imports another library", "internal/mocks/awsemu/cloudtrail", "internal/mocks/awsemu/iampolicy", false, AWSLeaf},
		{"the proxy imports the services", "internal/mocks/awsemu/enforce", "internal/mocks/awsemu/s3", false, ""},
		{"the proxy imports the emulator root", "internal/mocks/awsemu/enforce", "internal/mocks/awsemu", false, AWSProxy},
		{"the emulator root imports the proxy", "internal/mocks/awsemu", "internal/mocks/awsemu/enforce", false, ""},
		{"the emulator imports the IdP", "internal/mocks/awsemu", "internal/mocks/mockidp", false, AWSEmulator},
		{"the IdP imports the emulator", "internal/mocks/mockidp", "internal/mocks/awsemu/cloudtrail", false, MockIdP},
		{"the IdP imports a tool", "internal/mocks/mockidp", "internal/serve", false, ""},
		{"a reference command imports its component", "reference/mcpserver/cmd/mcpserver", "reference/mcpserver", false, ""},
		{"a reference component imports the context proof", "reference/authorizer", "reference/contextproof", false, ""},
		{"a reference component imports another component", "reference/authorizer", "reference/gateway", false, Reference},
		{"a reference component imports a mock", "reference/mcpserver", "internal/mocks/awsemu", false, Reference},
		{"a reference component imports harness", "reference/authorizer", "internal/harness/fixture", false, Reference},
		{"a reference test imports harness", "reference/authorizer", "internal/harness/fixture", true, ""},
		{"the context proof imports a component", "reference/contextproof", "reference/authorizer", false, ContextProof},
		{"harness imports mocks and reference", "internal/harness/stack", "reference/gateway", false, ""},
		{"harness imports a scenario package", "internal/harness/stack", "internal/scenarios/framework", false, Harness},
		{"a tool imports harness", "internal/serve", "internal/harness/stack", false, Tools},
		{"the binary imports the suite registry", "harness/cmd/mcpsso", "internal/scenarios/all", false, ""},
		{"the binary imports a suite directly", "harness/cmd/mcpsso", "internal/scenarios/trust", false, Binary},
		{"a suite imports framework", "internal/scenarios/trust", "internal/scenarios/framework", false, ""},
		{"a suite imports harness", "internal/scenarios/bootstrap", "internal/harness/stack", false, Suite},
		{"a suite imports a mock", "internal/scenarios/bootstrap", "internal/mocks/mockidp", false, Suite},
		{"a suite imports another suite", "internal/scenarios/trust", "internal/scenarios/abac", false, Suite},
		{"a suite imports a tool", "internal/scenarios/trust", "internal/mcpcall", false, Suite},
		{"a suite's test imports the targets", "internal/scenarios/trust", "internal/scenarios/targets", true, ""},
		{"a suite's test imports another suite", "internal/scenarios/trust", "internal/scenarios/abac", true, Suite},
		{"a mock's test imports the suite registry", "internal/mocks/awsemu", "internal/scenarios/all", true, AWSEmulator},
		{"framework imports the CloudTrail records (named exception)", "internal/scenarios/framework", "internal/mocks/awsemu/cloudtrail", false, ""},
		{"framework imports the mock IdP (named exception)", "internal/scenarios/framework", "internal/mocks/mockidp", false, ""},
		{"framework imports another mock", "internal/scenarios/framework", "internal/mocks/awsemu/iam", false, Framework},
		{"framework imports harness", "internal/scenarios/framework", "internal/harness/stack", false, Framework},
		{"the targets import harness and mocks", "internal/scenarios/targets", "internal/harness/stack", false, ""},
		{"the targets import a suite", "internal/scenarios/targets", "internal/scenarios/trust", false, Targets},
		{"the registry imports a suite", "internal/scenarios/all", "internal/scenarios/trust", false, ""},
		{"the baselines import framework", "internal/scenarios/baselines", "internal/scenarios/framework", false, Baselines},
		{"the public package imports the registry and harness", "mcpssotest", "internal/scenarios/all", false, ""},
		{"the public package imports a suite directly", "mcpssotest", "internal/scenarios/trust", false, Public},
		{"the public package imports the binary", "mcpssotest", "harness/cmd/mcpsso", false, Public},
		{"harness imports the public package", "internal/harness/stack", "mcpssotest", false, Harness},
		{"a harness test imports the public package", "internal/harness/stack", "mcpssotest", true, Harness},
		{"a package imports one in no layer", "internal/harness/stack", "internal/mocks/other", false, Harness},
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
	vs := Check([]Package{{Path: "internal/mocks/mockidp", TestImports: []string{"internal/scenarios/all"}}})
	want := `forbidden test import internal/mocks/mockidp → internal/scenarios/all: rule "tests": a test may import any package of the kit but a composition root (suite, registry, binary, public), and internal/scenarios/all is in layer "registry"`
	if len(vs) != 1 || vs[0].String() != want {
		t.Fatalf("Check = %v\nwant  %s", vs, want)
	}
}

func TestCheckNamesAPackageInNoLayer(t *testing.T) {
	vs := Check([]Package{{Path: "internal/mocks/awsemu/dynamodb", Imports: []string{"internal/mocks/awsemu/awserr"}}})
	if len(vs) != 1 || vs[0].String() != "package internal/mocks/awsemu/dynamodb is in no layer: give it one in internal/archtest/rules.go and docs/architecture.md" {
		t.Fatalf("Check = %v, want the one package in no layer", vs)
	}
}

func TestAViolationSaysWhereTheImportIs(t *testing.T) {
	l, _ := LayerOf("internal/scenarios/trust")
	v := Violation{From: "internal/scenarios/trust", To: "internal/harness/stack", Layer: l, At: "internal/scenarios/trust/helpers.go:20"}
	want := `forbidden import internal/scenarios/trust → internal/harness/stack at internal/scenarios/trust/helpers.go:20: rule "suite": ` + l.Rule
	if v.String() != want {
		t.Fatalf("got  %s\nwant %s", v, want)
	}
}
