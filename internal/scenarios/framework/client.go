package framework

import (
	"context"

	mcpclient "github.com/mark3labs/mcp-go/client"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

// ConnectMCP opens and initializes an mcp-go client on url with fixed request headers (a
// bearer token, or spoofed identity headers), as a headless MCP client does. The caller
// closes it.
func ConnectMCP(ctx context.Context, url string, headers map[string]string) (*mcpclient.Client, error) {
	return mcpcall.Connect(ctx, url, headers)
}
