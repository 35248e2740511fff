package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// InitializeAnswer posts a bare MCP initialize with the bearer token, as client, and says what
// the endpoint answered (status and the start of the body). An MCP client's error hides the
// HTTP exchange; a spec that could not open a session puts this in its failure message.
func InitializeAnswer(ctx context.Context, url, token, client string) string {
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"` + client + `","version":"1"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return fmt.Sprintf("the endpoint answered %s %s", resp.Status, strings.TrimSpace(string(b)))
}
