package mcpcall_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

type authKey struct{}

// newServer is an MCP server with two tools: echo-auth answers the request's Authorization
// header in two text parts, refuse answers a tool error.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := server.NewMCPServer("test", "1")
	s.AddTool(mcp.NewTool("echo-auth"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		auth, _ := ctx.Value(authKey{}).(string)
		half := len(auth) / 2
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(auth[:half]), mcp.NewTextContent(auth[half:])}}, nil
	})
	s.AddTool(mcp.NewTool("structured"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultStructured(map[string]any{"caller": map[string]any{"arn": "arn:x"}}, "you are arn:x"), nil
	})
	s.AddTool(mcp.NewTool("refuse"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultError("not for you"), nil
	})
	h := server.NewStreamableHTTPServer(s, server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
		return context.WithValue(ctx, authKey{}, r.Header.Get("Authorization"))
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestConnectSendsTheHeadersAndCallToolJoinsTheTextParts(t *testing.T) {
	srv := newServer(t)
	c, err := mcpcall.Connect(t.Context(), srv.URL, map[string]string{"Authorization": "Bearer tok-123"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	text, isErr, err := mcpcall.CallTool(t.Context(), c, "echo-auth", nil)
	if err != nil || isErr || text != "Bearer tok-123" {
		t.Fatalf("echo-auth = %q, isError %v, err %v; want the header in one text, no error", text, isErr, err)
	}
	text, isErr, err = mcpcall.CallTool(t.Context(), c, "refuse", nil)
	if err != nil || !isErr || text != "not for you" {
		t.Fatalf("refuse = %q, isError %v, err %v; want a tool error with its text", text, isErr, err)
	}
}

func TestConnectFailsWhenTheEndpointRefusesInitialize(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no token", http.StatusUnauthorized)
	}))
	defer srv.Close()
	c, err := mcpcall.Connect(t.Context(), srv.URL, nil)
	if err == nil {
		_ = c.Close()
		t.Fatal("Connect to an endpoint answering 401 succeeded")
	}
	if !strings.Contains(err.Error(), "mcpcall: MCP initialize") {
		t.Fatalf("error %q does not say initialize failed", err)
	}
}

func TestCallSeparatesResultsToolErrorsRPCErrorsAndNoAnswer(t *testing.T) {
	srv := newServer(t)
	c, err := mcpcall.Connect(t.Context(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := mcpcall.Call(t.Context(), c, "structured", nil)
	if err != nil || res.IsError || res.RPCError || res.Text != "you are arn:x" {
		t.Fatalf("structured = %+v, %v", res, err)
	}
	if m, ok := res.Structured.(map[string]any); !ok || m["caller"].(map[string]any)["arn"] != "arn:x" {
		t.Fatalf("structuredContent = %#v", res.Structured)
	}
	if res, err := mcpcall.Call(t.Context(), c, "refuse", nil); err != nil || !res.IsError || res.RPCError || res.Text != "not for you" {
		t.Fatalf("refuse = %+v, %v; want a tool error", res, err)
	}
	if res, err := mcpcall.Call(t.Context(), c, "no-such-tool", nil); err != nil || !res.RPCError || !strings.Contains(res.Text, "no-such-tool") {
		t.Fatalf("an unknown tool = %+v, %v; want a JSON-RPC error naming it", res, err)
	}
	srv.Close()
	if res, err := mcpcall.Call(t.Context(), c, "structured", nil); err == nil {
		t.Fatalf("a call to a closed server = %+v with no error", res)
	}
}
