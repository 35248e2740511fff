package stack

import (
	"context"
	"fmt"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// MCPClient logs user in (a token from the IdP) and returns an initialized mcp-go client on
// the MCP URL behind the gateway, sending the token as a static Authorization header as a
// headless MCP client does. The caller closes it.
func (s *Stack) MCPClient(ctx context.Context, user string) (*mcpclient.Client, error) {
	token, err := s.TokenFor(ctx, user)
	if err != nil {
		return nil, err
	}
	return ConnectMCP(ctx, s.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
}

// ConnectMCP opens and initializes an mcp-go client on url with fixed request headers.
func ConnectMCP(ctx context.Context, url string, headers map[string]string) (*mcpclient.Client, error) {
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers))
	if err != nil {
		return nil, err
	}
	c := mcpclient.NewClient(tr)
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("stack: MCP client: %w", err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "mcpsso-harness", Version: "1"}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, req); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("stack: MCP initialize: %w", err)
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
