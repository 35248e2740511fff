package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// TestUpHoldsWhenTheMCPServersPortIsReachable is issue 16's acceptance against `mcpsso up`: a
// POST to the MCP server's own port with another tenant's decided headers and no proof gets
// 403 and reaches no AWS API; as the task role (the endpoint up prints), acme's role assumed
// with tenant=globex is AccessDenied and with tenant=acme succeeds.
func TestUpHoldsWhenTheMCPServersPortIsReachable(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	direct := strings.TrimSpace(p.require(t, "MCP server (direct; the gateway's integration)"))

	req, _ := http.NewRequest(http.MethodPost, direct, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_object","arguments":{"key":"plans/secret-plan.txt"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("X-Decided-Role", "arn:aws:iam::111122223333:role/quilt-mcp-target-globex")
	req.Header.Set("X-Source-Identity", "usr-attacker")
	req.Header.Set("X-Session-Tags", `[{"Key":"tenant","Value":"globex"}]`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "missing_context_proof") {
		t.Fatalf("forged headers at %s: HTTP %d %s", direct, resp.StatusCode, body)
	}

	// The task role, from the endpoint up prints, as the AWS CLI would take it.
	var endpoint, token, awsURL string
	for _, l := range p.lines {
		for _, f := range strings.Fields(l) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "AWS_CONTAINER_CREDENTIALS_FULL_URI":
				endpoint = v
			case "AWS_CONTAINER_AUTHORIZATION_TOKEN":
				token = v
			case "AWS_ENDPOINT_URL":
				awsURL = v
			}
		}
	}
	if endpoint == "" || token == "" || awsURL == "" {
		t.Fatalf("up printed no task-role endpoint: %q", p.lines)
	}
	task := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(awsURL),
		Credentials: aws.NewCredentialsCache(endpointcreds.New(endpoint, func(o *endpointcreds.Options) { o.AuthorizationToken = token }))})
	assume := func(tenant string) error {
		_, err := task.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/quilt-mcp-target-acme"),
			RoleSessionName: aws.String("usr-alice"), SourceIdentity: aws.String("usr-alice"),
			Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String(tenant)}}})
		return err
	}
	var ae smithy.APIError
	if err := assume("globex"); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("acme's role with tenant=globex: %v, want AccessDenied", err)
	}
	if err := assume("acme"); err != nil {
		t.Errorf("acme's role with tenant=acme: %v", err)
	}

	p.interrupt(t)
	// The refusal is in the decision log; nothing anywhere acted for the forged identity.
	if log := p.stderr.String(); !strings.Contains(log, "mcp-server     DENY") || !strings.Contains(log, "reason=missing_context_proof") || strings.Contains(log, "usr-attacker") {
		t.Errorf("the decision log lacks the refusal, or shows the forged identity:\n%s", log)
	}
}
