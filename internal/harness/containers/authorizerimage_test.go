package containers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

// TestAuthorizerImageBehindTheGateway runs the reference authorizer as a Lambda container image
// (ReferenceAuthorizerImage: `mcpsso lambda rie` in front of the authorizer's Lambda entry
// point) in place of the gateway's in-process one, and checks that the gateway decides through
// it over the Lambda Invoke API: alice works under her role, no token and a garbage token are
// refused.
func TestAuthorizerImageBehindTheGateway(t *testing.T) {
	t.Parallel() // each topology is its own: nothing in one is fixed machine-wide
	containers.RequireDocker(t)
	ctx := context.Background()
	sample, err := containers.ReferenceAuthorizerImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := containers.Run(ctx, containers.WithAuthorizerImage(sample))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	if topo.AuthorizerImage() != sample || !strings.HasPrefix(topo.AuthorizerURL(), "http://127.0.0.1:") {
		t.Fatalf("AuthorizerImage() = %q, AuthorizerURL() = %q; want %q and a published URL", topo.AuthorizerImage(), topo.AuthorizerURL(), sample)
	}

	t.Run("the gateway calls the authorizer container, not an in-process authorizer", func(t *testing.T) {
		in, err := topo.Container(containers.AliasGateway).Inspect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		args := in.Config.Cmd
		i := slices.Index(args, "--authorizer-url")
		if i < 0 || i+1 >= len(args) || args[i+1] != "http://"+containers.AliasAuthorizer+":8080" || slices.Contains(args, "--authorizer-from-env") {
			t.Fatalf("gateway command %q: want --authorizer-url http://authorizer:8080 and no --authorizer-from-env", args)
		}
		for _, e := range in.Config.Env {
			if strings.HasPrefix(e, "MCPSSO_AUTHORIZER_") {
				t.Errorf("the gateway has the authorizer's configuration %s", e)
			}
		}
	})

	f := topo.Fixture()
	aliceRole := f.RoleARN(f.Accounts[0].ID, "quilt-mcp-target-acme")
	t.Run("alice's whoami names her role", func(t *testing.T) {
		tok, err := topo.TokenFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		c, err := mcpcall.Connect(ctx, topo.MCPURL(), map[string]string{"Authorization": "Bearer " + tok})
		if err != nil {
			t.Fatalf("connecting through the gateway: %v\nauthorizer logs:\n%s", err, logsOf(topo, containers.AliasAuthorizer))
		}
		defer c.Close()
		text, isErr, err := mcpcall.CallTool(ctx, c, "whoami", nil)
		if err != nil || isErr {
			t.Fatalf("whoami: %v %s", err, text)
		}
		var who struct{ Arn, Role string }
		if err := json.Unmarshal([]byte(text), &who); err != nil {
			t.Fatalf("whoami: %v: %s", err, text)
		}
		if who.Role != aliceRole || !strings.Contains(who.Arn, ":assumed-role/quilt-mcp-target-acme/") {
			t.Fatalf("whoami %s: want a session of %s", text, aliceRole)
		}
	})

	t.Run("no token is a 401 with the MCP challenge", func(t *testing.T) {
		resp := callMCP(t, topo.MCPURL(), "")
		if resp.status != http.StatusUnauthorized || !strings.Contains(resp.header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Fatalf("HTTP %d, WWW-Authenticate %q; want 401 with resource_metadata", resp.status, resp.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("a garbage token is refused", func(t *testing.T) {
		resp := callMCP(t, topo.MCPURL(), "garbage")
		if resp.status != http.StatusUnauthorized && resp.status != http.StatusForbidden {
			t.Fatalf("HTTP %d %s; want 401 or 403", resp.status, resp.body)
		}
	})

	t.Run("a forged token is signed as the IdP container signs, and the authorizer container refuses it", func(t *testing.T) {
		checkForgeries(t, topo)
	})

	t.Run("the decisions were made in the authorizer container", func(t *testing.T) {
		// alice's initialize and whoami (the gateway may cache), then the garbage token's
		// Unauthorized: at least one of each. The emulator logs an invocation once it has
		// answered, and Docker's log reaches us a moment later: read until both are there.
		var logs string
		var outcomes []string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			logs, outcomes = logsOf(topo, containers.AliasAuthorizer), nil
			for _, line := range strings.Split(logs, "\n") {
				var rec struct{ Msg, Outcome string }
				if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "invocation" {
					outcomes = append(outcomes, rec.Outcome)
				}
			}
			if slices.Contains(outcomes, "ok") && slices.Contains(outcomes, "function_error") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("invocation outcomes %v after 10 s, want ok and function_error:\n%s", outcomes, logs)
			}
		}
	})
}
