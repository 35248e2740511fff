package framework

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPostMCPSendsACompleteModernRequest: what PostMCP sends is a 2026-07-28 request as that
// protocol wants it: the version in the header and in params._meta with the client's
// capabilities, the method and tool in Mcp-Method and Mcp-Name,
// the caller's params and headers kept; a body that is not a request goes as it is.
func TestPostMCPSendsACompleteModernRequest(t *testing.T) {
	var gotHeader http.Header
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotHeader, gotBody = r.Header, string(b)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()

	r, err := PostMCP(context.Background(), srv.URL, http.Header{"X-Decided-Role": {"arn:aws:iam::1:role/r"}},
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{"k":"v"}}}`)
	if err != nil || r.Status != http.StatusTeapot {
		t.Fatalf("%+v %v", r, err)
	}
	for k, want := range map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "whoami",
		"X-Decided-Role": "arn:aws:iam::1:role/r", "Authorization": ""} {
		if got := gotHeader.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	var msg struct {
		ID     int    `json:"id"`
		Method string `json:"method"`
		Params struct {
			Name      string            `json:"name"`
			Arguments map[string]string `json:"arguments"`
			Meta      map[string]any    `json:"_meta"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(gotBody), &msg); err != nil {
		t.Fatal(err)
	}
	if msg.ID != 3 || msg.Params.Name != "whoami" || msg.Params.Arguments["k"] != "v" ||
		msg.Params.Meta["io.modelcontextprotocol/protocolVersion"] != "2026-07-28" || msg.Params.Meta["io.modelcontextprotocol/clientCapabilities"] == nil {
		t.Errorf("body %s", gotBody)
	}

	for _, raw := range []string{`not json`, `{"jsonrpc":"2.0","id":1}`, `[1,2]`} {
		if _, err := PostMCP(context.Background(), srv.URL, nil, raw); err != nil || gotBody != raw || gotHeader.Get("Mcp-Method") != "" {
			t.Errorf("%q was sent as %q with Mcp-Method %q (%v)", raw, gotBody, gotHeader.Get("Mcp-Method"), err)
		}
	}
}
