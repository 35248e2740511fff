package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// freeAddr is a loopback address nothing listens on (a process about to be restarted on it
// must keep it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestTheMCPServerSurvivesAnAWSRestart: the components as separate processes, as an operator
// runs them; the AWS emulator (with its task-role endpoint) is stopped and started again,
// with and without its data directory, and the MCP server's next tool call works without
// restarting it: STS refuses the task role's old credentials, the server fetches fresh ones
// from the endpoint and retries once.
func TestTheMCPServerSurvivesAnAWSRestart(t *testing.T) {
	bin := buildBinary(t)
	for _, withData := range []bool{false, true} {
		t.Run(fmt.Sprintf("data directory %v", withData), func(t *testing.T) {
			awsAddr, taskAddr := freeAddr(t), freeAddr(t)
			awsArgs := []string{"aws", "serve", "--addr", awsAddr, "--config", "default",
				"--task-role", "ecsTaskRole", "--task-role-addr", taskAddr, "--task-role-path", "/v2/credentials/restart", "--task-role-token", "tok-restart"}
			if withData {
				awsArgs = append(awsArgs, "--data", t.TempDir())
			}
			awsProc := startServe(t, bin, nil, "ready ", awsArgs...)

			secret := contextproof.NewSecret()
			none := filepath.Join(t.TempDir(), "none")
			env := []string{"AWS_ENDPOINT_URL=http://" + awsAddr, "AWS_REGION=us-east-1",
				"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://" + taskAddr + "/v2/credentials/restart", "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok-restart",
				"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true", "HOME=" + t.TempDir(),
				mcpserver.EnvContextProofSecret + "=" + secret}
			mcp := startServe(t, bin, env, "ready ", "mcp", "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "")
			url := mcp.require(t, "ready ")

			if status, body := whoamiAsAlice(t, url, secret); status != http.StatusOK || !strings.Contains(body, "quilt-mcp-target-acme") {
				t.Fatalf("before the restart: %d %s; stderr %s", status, body, mcp.stderr.String())
			}
			awsProc.interrupt(t)
			startServe(t, bin, nil, "ready ", awsArgs...)
			status, body := whoamiAsAlice(t, url, secret)
			if status != http.StatusOK || !strings.Contains(body, "quilt-mcp-target-acme") || strings.Contains(body, `"isError":true`) {
				t.Fatalf("after the restart: %d %s; the MCP server's log:\n%s", status, body, mcp.stderr.String())
			}
			if withData == false && !strings.Contains(mcp.stderr.String(), "fetched fresh ones and retried once") {
				t.Errorf("the MCP server's log does not show the renewal:\n%s", mcp.stderr.String())
			}
		})
	}
}

// whoamiAsAlice calls whoami as the gateway would for alice, with a context proof.
func whoamiAsAlice(t *testing.T, url, secret string) (int, string) {
	t.Helper()
	raw, err := contextproof.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	key, err := contextproof.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := contextproof.Context{Method: http.MethodPost, Path: "/mcp", DecidedRole: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme",
		SourceIdentity: "usr-00u8c2d9qkL4mT7xw5d7", SessionTags: `[{"Key":"tenant","Value":"acme"}]`}
	proof, err := key.Sign(ctx, contextproof.NewNonce(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcpserver.HeaderDecidedRole, ctx.DecidedRole)
	req.Header.Set(mcpserver.HeaderSourceIdentity, ctx.SourceIdentity)
	req.Header.Set(mcpserver.HeaderSessionTags, ctx.SessionTags)
	req.Header.Set(mcpserver.HeaderContextProof, proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
