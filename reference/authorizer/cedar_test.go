package authorizer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

const cedarPolicies = `
permit(principal, action, resource);

@id("no-put-for-globex")
forbid(principal in Tenant::"globex", action == Action::"invoke", resource)
when { context.mcpName == "put_object" };

@id("no-agents-for-dave")
forbid(principal == User::"auth0|65f0c0ffee1234567890abcd", action, resource)
when { principal.isAgent };
`

func TestACedarPolicyCanForbidATenantActionOrPrincipal(t *testing.T) {
	e := newEnv(t)
	p, err := authorizer.ParseCedarPolicy("test.cedar", []byte(cedarPolicies))
	if err != nil {
		t.Fatal(err)
	}
	a := e.authorizer(t, authorizer.WithCedarPolicy(p))
	agent := mockidp.WithTokenClaims(map[string]any{"agent_type": "assistant"})
	tests := []struct {
		name, user, tool string
		opts             []mockidp.TokenOption
		want             authorizer.Reason
		detail           string
	}{
		{"alice of acme may call put_object", "alice", "put_object", nil, authorizer.ReasonOK, ""},
		{"bob of globex may call get_object", "bob", "get_object", nil, authorizer.ReasonOK, ""},
		{"bob of globex may not call put_object", "bob", "put_object", nil, authorizer.ReasonPolicyDenied, "no-put-for-globex"},
		{"dave himself is allowed", "dave", "get_object", nil, authorizer.ReasonOK, ""},
		{"an agent acting as dave is forbidden", "dave", "get_object", []mockidp.TokenOption{agent}, authorizer.ReasonPolicyDenied, "no-agents-for-dave"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := bearer(e.token(t, tc.user, tc.opts...))
			req.Method, req.Path, req.RouteKey, req.MCPMethod, req.MCPName = "POST", "/mcp", "POST /mcp", "tools/call", tc.tool
			d, err := a.Decide(context.Background(), req)
			if err != nil || d.Reason != tc.want || !strings.Contains(d.Detail, tc.detail) {
				t.Fatalf("decision %s (%s), %v; want %s mentioning %q", d.Reason, d.Detail, err, tc.want, tc.detail)
			}
		})
	}
}

func TestCedarFailsClosed(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, policy string
		want         authorizer.Reason
	}{
		{"a set with only forbids permits nothing", `forbid(principal in Tenant::"globex", action, resource);`, authorizer.ReasonPolicyDenied},
		{"a forbid that fails to evaluate denies instead of being skipped",
			"permit(principal, action, resource);\nforbid(principal, action, resource) when { principal.noSuchAttribute == 1 };",
			authorizer.ReasonPolicyError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := authorizer.ParseCedarPolicy("t.cedar", []byte(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.authorizer(t, authorizer.WithCedarPolicy(p)).Decide(context.Background(), bearer(e.token(t, "alice")))
			if err != nil || d.Allow || d.Reason != tc.want {
				t.Fatalf("decision %v %s (%s), %v; want %s", d.Allow, d.Reason, d.Detail, err, tc.want)
			}
			if tc.want.Outcome() != authorizer.Forbidden {
				t.Errorf("outcome %s, want forbidden", tc.want.Outcome())
			}
		})
	}
}

func TestCedarPolicyFilesAreParsedStrictly(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"a syntax error is refused", "permit(principal, action", "cedar policy"},
		{"an empty file is refused", "// nothing\n", "no policies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := authorizer.ParseCedarPolicy("bad.cedar", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "p.cedar")
	if err := os.WriteFile(path, []byte(cedarPolicies), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := authorizer.LoadCedarPolicy(path); err != nil {
		t.Fatal(err)
	}
}
