package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
)

// Start the reference deployment in this process, sign alice in and call a tool through the
// gateway, the authorizer and the MCP server, which assumes her tenant's role for the call.
func ExampleStart() {
	ctx := context.Background()
	s, err := stack.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	c, err := s.MCPClient(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "whoami"}})
	if err != nil || res.IsError {
		log.Fatal(err, res)
	}
	text := res.Content[0].(mcp.TextContent).Text
	var who struct{ Tenant, Role string }
	if err := json.Unmarshal([]byte(text), &who); err != nil {
		log.Fatal(err)
	}
	fmt.Println(who.Tenant, who.Role)
	// Output: acme arn:aws:iam::111122223333:role/quilt-mcp-target-acme
}
