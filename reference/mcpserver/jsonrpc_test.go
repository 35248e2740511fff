package mcpserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// postAsAlice sends body as alice through the tests' gateway and returns the status and the body.
func postAsAlice(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = gatewayHeader("acme", "usr-alice")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// JSON-RPC 2.0 allows an id that is a string, a number or null; mcp-go answers any JSON value
// (an object or array id comes back in the response). The server refuses the rest first.
func TestARequestIDThatIsNotAStringNumberOrNullIsAnInvalidRequest(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t)
	for _, tc := range []struct {
		name, id, kind string
	}{
		{"an object", `{"a":1}`, "an object"},
		{"an empty object", `{}`, "an object"},
		{"an array", `[1]`, "an array"},
		{"an empty array", `[]`, "an array"},
		{"a boolean", `true`, "a boolean"},
		{"an object after a valid id in a duplicate member (the last one counts, as for mcp-go)", `1,"id":{"a":1}`, "an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postAsAlice(t, url, `{"jsonrpc":"2.0","id":`+tc.id+`,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
			var answer struct {
				ID    any `json:"id"`
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
				Result any `json:"result"`
			}
			if err := json.Unmarshal([]byte(body), &answer); err != nil {
				t.Fatalf("%d %s: %v", status, body, err)
			}
			if status != http.StatusBadRequest || answer.Error.Code != -32600 || answer.ID != nil || answer.Result != nil ||
				!strings.Contains(answer.Error.Message, "the id is "+tc.kind) {
				t.Errorf("%d %s; want 400 with error -32600 naming %s and id null", status, body, tc.kind)
			}
		})
	}
	for _, id := range []string{`"req-1"`, `7`, `-1`} {
		if status, body := postAsAlice(t, url, `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/list"}`); status != http.StatusOK || !strings.Contains(body, `"id":`+id) {
			t.Errorf("id %s: %d %.200s; want it served", id, status, body)
		}
	}
	if m := scrape(t, h); !strings.Contains(m, `http_requests_refused_total{reason="invalid_jsonrpc_request"} 6`) || !strings.Contains(m, `tool_calls_total{result="ok",tool="whoami"} 0`) {
		t.Errorf("metrics:\n%s", grepMetrics(m))
	}
}

func TestABatchIsAnInvalidRequest(t *testing.T) {
	w := newWorld(t)
	_, url := w.serve(t)
	status, body := postAsAlice(t, url, ` [{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]`)
	if status != http.StatusBadRequest || !strings.Contains(body, `"code":-32600`) || !strings.Contains(body, "batch") {
		t.Errorf("%d %s; want 400 with error -32600 naming the batch", status, body)
	}
}

// A body over the limit is refused whole, with 413, before mcp-go reads it.
func TestABodyOverTheLimitGets413(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t, mcpserver.WithMaxObjectBytes(1024))
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"put_object","arguments":{"key":"x","content":"` + strings.Repeat("a", 2<<20) + `"}}}`
	status, body := postAsAlice(t, url, big)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"code":-32600`) || !strings.Contains(body, "1024 bytes") {
		t.Errorf("%d %.300s; want 413 naming the object limit", status, body)
	}
	if m := scrape(t, h); !strings.Contains(m, `http_requests_refused_total{reason="body_too_large"} 1`) {
		t.Errorf("metrics:\n%s", grepMetrics(m))
	}
}
