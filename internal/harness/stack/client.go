package stack

import (
	"context"

	mcpclient "github.com/mark3labs/mcp-go/client"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

// MCPClient logs user in (a token from the IdP) and returns an initialized mcp-go client on
// the MCP URL behind the gateway, sending the token as a static Authorization header as a
// headless MCP client does. The caller closes it.
func (s *Stack) MCPClient(ctx context.Context, user string) (*mcpclient.Client, error) {
	token, err := s.TokenFor(ctx, user)
	if err != nil {
		return nil, err
	}
	return mcpcall.Connect(ctx, s.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
}
