package containers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

func TestWithMCPImageRejectsBadReferences(t *testing.T) {
	for _, tc := range []struct{ name, image string }{
		{"an empty reference", ""},
		{"a reference with a space", "my server:1"},
		{"a reference that reads as a flag", "--privileged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := containers.Run(context.Background(), containers.WithMCPImage(tc.image))
			if err == nil || !strings.Contains(err.Error(), "WithMCPImage") {
				t.Fatalf("got %v, want an error naming WithMCPImage", err)
			}
		})
	}
}

// TestTaskRoleSampleBehindTheGateway runs the deliberately wrong sample as a third-party MCP
// server image: the suites' view of it (through the gateway) shows that it acts as the task
// role, and the topology still hides it from the host and the public network.
func TestTaskRoleSampleBehindTheGateway(t *testing.T) {
	t.Parallel() // each topology is its own: nothing in one is fixed machine-wide
	containers.RequireDocker(t)
	ctx := context.Background()
	sample, err := containers.BuildTaskRoleSample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := containers.Run(ctx, containers.WithMCPImage(sample))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	if topo.MCPImage() != sample {
		t.Fatalf("MCPImage() = %q, want %q", topo.MCPImage(), sample)
	}
	f := topo.Fixture()
	aliceRole := f.RoleARN(f.Accounts[0].ID, "quilt-mcp-target-acme")

	tok, err := topo.TokenFor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := mcpcall.Connect(ctx, topo.MCPURL(), map[string]string{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatalf("connecting through the gateway: %v\nmcp logs:\n%s", err, logsOf(topo, containers.AliasMCP))
	}
	t.Cleanup(func() { _ = c.Close() })

	t.Run("alice's whoami reports the task role, not her role", func(t *testing.T) {
		text, isErr, err := mcpcall.CallTool(ctx, c, "whoami", nil)
		if err != nil || isErr {
			t.Fatalf("whoami: %v %s", err, text)
		}
		var who struct{ Arn, Role, SourceIdentity string }
		if err := json.Unmarshal([]byte(text), &who); err != nil {
			t.Fatalf("whoami: %v: %s", err, text)
		}
		if !strings.Contains(who.Arn, ":assumed-role/"+f.TaskRole+"/") || who.Role == aliceRole {
			t.Fatalf("whoami %s: want a session of the task role %s, not of %s", text, f.TaskRole, aliceRole)
		}
		if !strings.HasPrefix(who.SourceIdentity, "usr-") {
			t.Fatalf("the gateway's x-source-identity did not reach the image: %s", text)
		}
	})

	t.Run("alice cannot list her tenant's bucket: the task role has no S3 access", func(t *testing.T) {
		text, isErr, err := mcpcall.CallTool(ctx, c, "list_objects", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !isErr || !strings.Contains(text, "AccessDenied") || !strings.Contains(text, "quilt-tenant-acme") {
			t.Fatalf("list_objects: isError %v: %s", isErr, text)
		}
	})

	t.Run("a forged token is signed as the IdP container signs, and refused before the image", func(t *testing.T) {
		checkForgeries(t, topo)
	})

	t.Run("the task role is fetched inside the MCP task and works at the published endpoint", func(t *testing.T) {
		cfg, err := topo.TaskRoleAWSConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(aws.ToString(out.Arn), ":assumed-role/"+f.TaskRole+"/") {
			t.Fatalf("caller %s", aws.ToString(out.Arn))
		}
	})

	t.Run("the logs hold the components' JSON lines only, growing", func(t *testing.T) {
		lines, err := topo.JSONLogs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var decisions, sample int
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			decisions += count(m["msg"] == "authorization decision")
			sample += count(m["msg"] == "taskrolemcp listening")
		}
		if decisions == 0 || sample != 1 {
			t.Fatalf("%d authorization decisions, %d sample start lines in %d lines", decisions, sample, len(lines))
		}
		if _, _, err := mcpcall.CallTool(ctx, c, "whoami", nil); err != nil {
			t.Fatal(err)
		}
		var more []string
		for range 50 { // the gateway's line may reach Docker's log a moment after the answer
			if more, err = topo.JSONLogs(ctx); err != nil || len(more) > len(lines) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(more) <= len(lines) || strings.Join(more[:len(lines)], "\n") != strings.Join(lines, "\n") {
			t.Fatalf("after one more call: %d lines, was %d; the older ones must stay first, unchanged", len(more), len(lines))
		}
	})

	t.Run("a third-party image has no known metrics endpoint", func(t *testing.T) {
		if u, err := topo.MetricsURL(); err == nil {
			t.Fatalf("MetricsURL() = %s", u)
		}
	})

	mcpAddr, err := topo.MCPServerAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the image is unreachable from the host", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+mcpAddr+"/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "jsonrpc") {
			t.Fatalf("the host reached the MCP server at %s: %s", mcpAddr, b)
		}
	})

	t.Run("the image answers on the internal network", func(t *testing.T) {
		if out := probeMCP(t, topo, mcpAddr, topo.InternalNetwork(), ""); !strings.Contains(out, "jsonrpc") {
			t.Fatalf("probe on the internal network: %s", out)
		}
	})
	t.Run("the image is unreachable from the public network", func(t *testing.T) {
		out := probeMCP(t, topo, mcpAddr, topo.PublicNetwork(), "")
		if strings.Contains(out, "jsonrpc") {
			t.Fatalf("probe on the public network reached the image: %s", out)
		}
		t.Logf("probe on the public network: %s", strings.TrimSpace(out))
	})
}

func count(b bool) int {
	if b {
		return 1
	}
	return 0
}
