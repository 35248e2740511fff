// Package mcpcall is the kit's one way to talk to an MCP server as a headless client does: open
// an initialized mcp-go client on an MCP URL with fixed request headers (a bearer token), and
// call a tool, reading its text. The stack's own checks and the scenario suites (through
// internal/scenarios/framework) both use it, so it lives below both.
package mcpcall

import (
	"context"
	"errors"
	"fmt"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Connect opens and initializes an mcp-go client on url with fixed request headers. The caller
// closes it.
func Connect(ctx context.Context, url string, headers map[string]string) (*mcpclient.Client, error) {
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers))
	if err != nil {
		return nil, err
	}
	c := mcpclient.NewClient(tr)
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("mcpcall: MCP client: %w", err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "mcpsso-harness", Version: "1"}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, req); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("mcpcall: MCP initialize: %w", err)
	}
	return c, nil
}

// CallTool calls a tool and returns its text content and whether it is a tool error; a
// JSON-RPC error answer is an error.
func CallTool(ctx context.Context, c *mcpclient.Client, tool string, args map[string]any) (text string, isError bool, err error) {
	res, err := call(ctx, c, tool, args)
	if err != nil {
		return "", false, err
	}
	return joinText(res), res.IsError, nil
}

// Result is what a tools/call answered: a result, or a JSON-RPC error.
type Result struct {
	// Text is the result's text content joined, or the JSON-RPC error's message.
	Text string
	// Structured is the result's structuredContent (nil without one).
	Structured any
	// IsError is the result's isError.
	IsError bool
	// RPCError: the server answered a JSON-RPC error instead of a result.
	RPCError bool
}

// Call calls a tool. A JSON-RPC error answer is a Result with RPCError set, since a server may
// answer a denial that way; err is for a call that got no answer (transport, context).
func Call(ctx context.Context, c *mcpclient.Client, tool string, args map[string]any) (Result, error) {
	res, err := call(ctx, c, tool, args)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) || ctx.Err() != nil {
			return Result{}, err
		}
		// mcp-go turns a JSON-RPC error answer into an error that is not a transport.Error.
		return Result{Text: err.Error(), RPCError: true}, nil
	}
	return Result{Text: joinText(res), Structured: res.StructuredContent, IsError: res.IsError}, nil
}

func call(ctx context.Context, c *mcpclient.Client, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

func joinText(res *mcp.CallToolResult) string {
	var text string
	for _, content := range res.Content {
		if t, ok := content.(mcp.TextContent); ok {
			text += t.Text
		}
	}
	return text
}

// ListTools returns the names of every tool the server lists, following nextCursor.
func ListTools(ctx context.Context, c *mcpclient.Client) ([]string, error) {
	var names []string
	req := mcp.ListToolsRequest{}
	for page := 0; page < 100; page++ {
		res, err := c.ListTools(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, t := range res.Tools {
			names = append(names, t.Name)
		}
		if res.NextCursor == "" {
			return names, nil
		}
		req.Params.Cursor = res.NextCursor
	}
	return nil, errors.New("mcpcall: tools/list gave over 100 pages")
}
