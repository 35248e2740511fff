package mcpssotest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// The names the package exports are the reference server's and the gateway's, spelt out so
// that its API shows no kit type.
func TestTheExportedNamesAreTheGatewaysHeaders(t *testing.T) {
	if TenantTag != mcpserver.TenantTag {
		t.Errorf("TenantTag %q, the reference server's %q", TenantTag, mcpserver.TenantTag)
	}
	want := Headers{DecidedRole: mcpserver.HeaderDecidedRole, SourceIdentity: mcpserver.HeaderSourceIdentity,
		SessionTags: mcpserver.HeaderSessionTags, Limits: mcpserver.HeaderLimits, ContextProof: contextproof.Header}
	if decidedHeaders != want {
		t.Errorf("Headers %+v, want %+v", decidedHeaders, want)
	}
}

// A wrong option fails before anything starts, naming the option and the rule.
func TestBadOptionsAreRefusedByName(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithProfile("prod"), `WithProfile("prod"): want "reference" or "seed"`},
		{WithAWSBackend("localstack"), "WithAWSBackend: LocalStack runs as a container"},
		{WithAWSBackend("ftp://x"), `WithAWSBackend: AWS backend "ftp://x": want emulator, moto or an http(s) URL`},
		{WithFixtureFile("testdata/no-such-fixture.yaml"), "WithFixtureFile: "},
		{WithIdPProfile(" "), "WithIdPProfile: empty profile name"},
		{WithIdPProfile("nonesuch"), "nonesuch"},
		{WithLogOutput(nil), "WithLogOutput: nil writer"},
		{WithMCPServer(nil), "WithMCPServer: nil function"},
		{WithMCPServer(func(Env) http.Handler { panic("boom") }), "the WithMCPServer function panicked: boom"},
	} {
		s, err := start(context.Background(), tc.opt)
		if err == nil {
			_ = s.target.Close()
			t.Errorf("want an error containing %q, got none", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not say %q", err, tc.want)
		}
	}
	for _, tc := range []struct {
		opt  ConformOption
		want string
	}{
		{WithProbes(Probes{Read: &Probe{}}), "WithProbes: "},
		{WithKnownFailures("testdata/no-such-baseline.txt"), "WithKnownFailures: "},
		{WithJUnit(""), "WithJUnit: empty path"},
		{WithLabelFilter("abac &&"), `WithLabelFilter("abac &&"): `},
		{WithLabelFilter("nolabel"), `unknown label "nolabel"`},
	} {
		var c conformConfig
		if err := tc.opt(&c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v does not say %q", err, tc.want)
		}
	}
}

// A spec's subtest name: the outer container as the suite, tags left out, no / inside a level.
func TestTheSubtestNameIsSuiteSlashSpec(t *testing.T) {
	sp := listedSpec{Containers: []string{"The MCP transport [transport]", "lets a user call whoami"}, Leaf: "over tools/call [needs:x]"}
	if got, want := sp.testName(), "The MCP transport/lets a user call whoami over tools-call"; got != want {
		t.Errorf("testName = %q, want %q", got, want)
	}
}
