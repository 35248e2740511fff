package containers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

func TestWithAWSBackendRejectsUnknownNames(t *testing.T) {
	_, err := containers.Run(context.Background(), containers.WithAWSBackend("lambda"))
	if err == nil || !strings.Contains(err.Error(), `"lambda"`) || !strings.Contains(err.Error(), strings.Join(containers.AWSBackends(), ", ")) {
		t.Fatalf("got %v; want an error naming the backend and the known ones", err)
	}
}

func TestLocalStackImageFollowsTheEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, image, token, want string }{
		{"the community archive without a token", "", "", containers.LocalStackCommunityImage},
		{"latest with an auth token", "", "ls-token", containers.LocalStackProImage},
		{"the override above all", "mirror.example/localstack:4.14.0", "ls-token", "mirror.example/localstack:4.14.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(containers.EnvLocalStackImage, tc.image)
			t.Setenv(containers.EnvLocalStackAuthToken, tc.token)
			if got := containers.LocalStackImage(); got != tc.want {
				t.Errorf("LocalStackImage() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTopologyWithMotoBackend runs the topology with moto_server on the host behind the
// enforcing proxy: the MCP flow works as on the emulator and the proxy denies what moto alone
// would allow.
func TestTopologyWithMotoBackend(t *testing.T) {
	t.Parallel() // each topology is its own: nothing in one is fixed machine-wide
	containers.RequireDocker(t)
	topo, err := containers.Run(context.Background(), containers.WithAWSBackend(containers.AWSBackendMoto))
	if errors.Is(err, moto.ErrNotInstalled) && os.Getenv(moto.EnvRequireMoto) != "1" {
		t.Skipf("%v (set %s=1 to fail instead)", err, moto.EnvRequireMoto)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	checkEnforcedBackend(t, topo)

	t.Run("moto alone lets the task role assume alice's role without a source identity", func(t *testing.T) {
		cfg, err := topo.TaskRoleAWSConfig(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg.BaseEndpoint = aws.String(topo.AWSUpstreamEndpoint())
		if _, err := sts.NewFromConfig(cfg).AssumeRole(t.Context(), unsourcedAssume(topo)); err != nil {
			t.Errorf("directly at moto (%s): %v; want success, moto checks no trust policy", topo.AWSUpstreamEndpoint(), err)
		}
	})
}

// TestTopologyWithLocalStackBackend is the same with LocalStack in a container. Its image
// cannot be pulled everywhere: the test skips with the reason then, or fails when
// MCPSSO_REQUIRE_LOCALSTACK=1 (the LocalStack workflow sets it).
func TestTopologyWithLocalStackBackend(t *testing.T) {
	t.Parallel() // each topology is its own: nothing in one is fixed machine-wide
	containers.RequireLocalStack(t)
	topo, err := containers.Run(context.Background(), containers.WithAWSBackend(containers.AWSBackendLocalStack))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Run("LocalStack answers on its own endpoint with IAM, STS and S3", func(t *testing.T) {
		resp, err := http.Get(topo.AWSUpstreamEndpoint() + "/_localstack/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"s3"`) || !strings.Contains(string(b), `"sts"`) {
			t.Fatalf("health: HTTP %d %s", resp.StatusCode, b)
		}
	})
	checkEnforcedBackend(t, topo)
}

// checkEnforcedBackend is what must hold whatever upstream the enforcing proxy fronts.
func checkEnforcedBackend(t *testing.T, topo *containers.Topology) {
	t.Helper()
	ctx := t.Context()
	token := func(t *testing.T, user string) string {
		tok, err := topo.TokenFor(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t.Run("alice's whoami and list_objects work through the gateway", func(t *testing.T) {
		tok := token(t, "alice")
		who := callTool(t, topo.MCPURL(), tok, "whoami", `{}`)
		if who.status != http.StatusOK || strings.Contains(who.body, `"isError":true`) || !strings.Contains(who.body, "quilt-mcp-target-acme") {
			t.Fatalf("whoami: HTTP %d %s\naws logs:\n%s", who.status, who.body, logsOf(topo, containers.AliasAWS))
		}
		list := callTool(t, topo.MCPURL(), tok, "list_objects", `{}`)
		if list.status != http.StatusOK || strings.Contains(list.body, `"isError":true`) || !strings.Contains(list.body, "reports/2026-q3.csv") {
			t.Fatalf("list_objects: HTTP %d %s\naws logs:\n%s", list.status, list.body, logsOf(topo, containers.AliasAWS))
		}
	})
	t.Run("bob cannot read alice's tenant bucket", func(t *testing.T) {
		got := callTool(t, topo.MCPURL(), token(t, "bob"), "get_object", `{"bucket":"quilt-tenant-acme","key":"README.md"}`)
		if got.status != http.StatusOK || !strings.Contains(got.body, `"isError":true`) || !strings.Contains(got.body, "AccessDenied") ||
			strings.Contains(got.body, "This bucket belongs to tenant acme") {
			t.Fatalf("get_object: HTTP %d %s", got.status, got.body)
		}
		// GetObject is a data event, which LookupEvents does not return (as on AWS): the
		// proxy's decision log has it.
		// Docker's log arrives a moment after the line is written: read until it is there.
		var logs string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			logs = logsOf(topo, containers.AliasAWS)
			for line := range strings.Lines(logs) {
				if strings.Contains(line, `"action":"GetObject"`) && strings.Contains(line, `"decision":"deny"`) && strings.Contains(line, "quilt-mcp-target-globex") {
					return
				}
			}
		}
		t.Errorf("no denied GetObject by bob's role in the proxy's log after 10 s:\n%s", logs)
	})
	t.Run("a denied AssumeRole is in the proxy's CloudTrail, through the published AWS port", func(t *testing.T) {
		cfg, err := topo.TaskRoleAWSConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(cfg).AssumeRole(ctx, unsourcedAssume(topo)); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("the task role assumed alice's role without a source identity: %v; want AccessDenied", err)
		}
		admin, err := topo.AdminAWSConfig("")
		if err != nil {
			t.Fatal(err)
		}
		out, err := cloudtrail.NewFromConfig(admin).LookupEvents(ctx, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRole")}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			if strings.Contains(aws.ToString(e.CloudTrailEvent), `"errorCode":"AccessDenied"`) {
				return
			}
		}
		t.Errorf("LookupEvents has no denied AssumeRole among %d AssumeRole records", len(out.Events))
	})
	t.Run("the admin of another fixture account is refused, not silently the deployment's", func(t *testing.T) {
		if _, err := topo.AdminAWSConfig("444455556666"); err == nil || !strings.Contains(err.Error(), "444455556666") {
			t.Errorf("AdminAWSConfig(444455556666): %v; want an error naming the account", err)
		}
	})
}

// unsourcedAssume is alice's role with her tenant tag but no source identity, which the
// reference trust policy refuses.
func unsourcedAssume(topo *containers.Topology) *sts.AssumeRoleInput {
	f := topo.Fixture()
	return &sts.AssumeRoleInput{RoleArn: aws.String(f.RoleARN(f.Accounts[0].ID, "quilt-mcp-target-acme")), RoleSessionName: aws.String("no-source"),
		Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}}
}

func callTool(t *testing.T, url, token, name, args string) mcpResponse {
	t.Helper()
	resp, err := postTool(context.Background(), url, token, name, args)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// postTool sends one tools/call through the gateway as a streamable-HTTP client would.
func postTool(ctx context.Context, url, token, name, args string) (mcpResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":`+args+`}}`))
	if err != nil {
		return mcpResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return mcpResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return mcpResponse{resp.StatusCode, resp.Header, string(b)}, err
}
