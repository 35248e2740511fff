package stack

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

// startMotoStack starts the stack on moto_server, or skips when moto is not installed (fails
// instead with MCPSSO_REQUIRE_MOTO=1, as CI sets it).
func startMotoStack(t *testing.T, bypass bool) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no moto_server")
	}
	s, err := Start(t.Context(), WithAWSBackend(AWSBackend{Moto: true, Bypass: bypass}))
	if errors.Is(err, moto.ErrNotInstalled) && os.Getenv(moto.EnvRequireMoto) != "1" {
		t.Skipf("%v (set %s=1 to fail instead)", err, moto.EnvRequireMoto)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// crossTenantRead has alice (tenant acme) ask for globex's plan through the MCP server.
func crossTenantRead(t *testing.T, s *Stack) (text string, isErr bool) {
	t.Helper()
	alice, err := s.MCPClient(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	if who, isErr, err := mcpcall.CallTool(t.Context(), alice, "whoami", nil); err != nil || isErr || !strings.Contains(who, "quilt-mcp-target-acme") {
		t.Fatalf("alice's whoami on %s: %q %v %v", s.AWSBackend().Name(), who, isErr, err)
	}
	if list, isErr, err := mcpcall.CallTool(t.Context(), alice, "list_objects", map[string]any{}); err != nil || isErr || !strings.Contains(list, "reports/2026-q3.csv") {
		t.Fatalf("alice's list_objects on %s: %q %v %v", s.AWSBackend().Name(), list, isErr, err)
	}
	text, isErr, err = mcpcall.CallTool(t.Context(), alice, "get_object", map[string]any{"bucket": "quilt-tenant-globex", "key": "plans/secret-plan.txt"})
	if err != nil {
		t.Fatal(err)
	}
	return text, isErr
}

func TestOnMotoTheEnforcingProxyKeepsTenantsApart(t *testing.T) {
	s := startMotoStack(t, false)
	if s.AWS() != nil || !strings.HasPrefix(s.AWSBackend().Name(), "moto behind") {
		t.Fatalf("backend %q, emulator %v", s.AWSBackend().Name(), s.AWS())
	}
	if got := s.Fixture().AccountIDs(); len(got) != 1 {
		t.Errorf("accounts %v: want the deployment account only", got)
	}
	text, isErr := crossTenantRead(t, s)
	if !isErr || !strings.Contains(text, "AccessDenied") {
		t.Fatalf("alice read globex's plan through moto behind the proxy: %q", text)
	}
	// The bucket policies were seeded into the proxy, not moto (which would deny everyone).
	admin, err := s.AdminAWSConfig(s.Fixture().DeploymentAccount())
	if err != nil {
		t.Fatal(err)
	}
	pol, err := s3.NewFromConfig(admin, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketPolicy(t.Context(),
		&s3.GetBucketPolicyInput{Bucket: aws.String("quilt-tenant-acme")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), "DenyPrincipalsOutsideAccount") {
		t.Errorf("the acme bucket's policy through the proxy: %v", err)
	}
	if _, err := s.AdminAWSConfig("444455556666"); err == nil {
		t.Error("the one-account backend gave credentials for another account")
	}
	denied := s.CloudTrailEvents(cloudtrail.Filter{EventName: "GetObject"})
	found := false
	for _, e := range denied {
		found = found || (e.ErrorCode == "AccessDenied" && e.UserIdentity.SessionContext != nil && strings.HasPrefix(e.UserIdentity.SessionContext.SourceIdentity, "usr-"))
	}
	if !found {
		t.Errorf("no denied GetObject with a usr- source identity among %d GetObject records", len(denied))
	}
}

func TestOnMotoWithTheProxyBypassedATenantReadsAnother(t *testing.T) {
	s := startMotoStack(t, true)
	text, isErr := crossTenantRead(t, s)
	if isErr || !strings.Contains(text, "world domination") {
		t.Fatalf("with the proxy bypassed alice should read globex's plan (moto enforces nothing), got %q (tool error %v)", text, isErr)
	}
	if s.HasCloudTrail() || len(s.CloudTrailEvents(cloudtrail.Filter{})) != 0 {
		t.Error("a bypassed stack claims CloudTrail records")
	}
}

func TestWithAWSBackendRejectsBadInput(t *testing.T) {
	for name, b := range map[string]AWSBackend{
		"both":           {Moto: true, Upstream: "http://127.0.0.1:5000"},
		"bypass alone":   {Bypass: true},
		"not a URL":      {Upstream: "127.0.0.1:5000"},
		"another scheme": {Upstream: "ftp://127.0.0.1"},
	} {
		var s settings
		if err := WithAWSBackend(b)(&s); err == nil {
			t.Errorf("%s: %+v accepted", name, b)
		}
	}
}

func TestParseAWSBackendNamesTheRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bypass bool
		want   AWSBackend
		bad    string
	}{
		{name: "", want: AWSBackend{}},
		{name: "emulator", want: AWSBackend{}},
		{name: "moto", bypass: true, want: AWSBackend{Moto: true, Bypass: true}},
		{name: "http://127.0.0.1:4566", want: AWSBackend{Upstream: "http://127.0.0.1:4566"}},
		{name: "emulator", bypass: true, bad: "enforces by itself"},
		{name: "localstack", bad: "containers target"},
		{name: "dynamodb", bad: "want emulator, moto"},
		{name: "https://", bad: "not an http(s) URL"},
	} {
		got, err := ParseAWSBackend(tc.name, tc.bypass)
		switch {
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%q bypass=%v: %v, want an error saying %q", tc.name, tc.bypass, err, tc.bad)
		case tc.bad == "" && (err != nil || got != tc.want):
			t.Errorf("%q bypass=%v: %+v, %v; want %+v", tc.name, tc.bypass, got, err, tc.want)
		}
	}
}
