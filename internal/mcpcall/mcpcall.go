// Package mcpcall is the kit's one way to talk to an MCP server as a headless client does: open
// an initialized mcp-go client on an MCP URL with fixed request headers (a bearer token), and
// call a tool, reading its text. The stack's own checks and the scenario suites (through
// scenarios/framework) both use it, so it lives below both.
package mcpcall

import (
	"context"
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

// CallTool calls a tool and returns its text content and whether it is a tool error.
func CallTool(ctx context.Context, c *mcpclient.Client, tool string, args map[string]any) (text string, isError bool, err error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", false, err
	}
	for _, content := range res.Content {
		if t, ok := content.(mcp.TextContent); ok {
			text += t.Text
		}
	}
	return text, res.IsError, nil
}
