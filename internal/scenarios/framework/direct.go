package framework

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// WhoamiCall is a tools/call of the reference server's whoami, for requests that must be refused
// before any tool runs, whatever the deployment's tools (judge them by the HTTP status: on a
// server with no whoami a wrongly accepted call answers a JSON-RPC error, not a result). A spec
// that expects a tool to run posts ProbeCall instead.
const WhoamiCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// Reply is an HTTP answer with its body (at most 1 MiB of it).
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// ToolRan reports whether the reply carries a JSON-RPC result: a tool ran.
func (r Reply) ToolRan() bool {
	return r.Status >= 200 && r.Status < 300 && strings.Contains(r.Body, `"result"`)
}

var directClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}} // no proxy

// PostMCP POSTs a JSON-RPC request to url as an MCP client of protocol 2026-07-28 sends it,
// with h's headers added and no others: no token unless h has one. That protocol has no
// initialize and no session: each request states its protocol version and client capabilities
// in params._meta, which are added to body here, and names its method (and tool) in Mcp-Method
// and Mcp-Name, derived from body. So a stateless server and a stateful one alike serve it,
// where a stateful server refuses a 2025-11-25 request outside a session. A body that is not
// a JSON-RPC request object is sent as it is.
func PostMCP(ctx context.Context, url string, h http.Header, body string) (Reply, error) {
	body, method, params := modernRequest(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", mcp.ProtocolVersion20260728)
	if method != "" {
		for k, v := range mcp.StandardHeaders(mcp.ProtocolVersion20260728, mcp.MCPMethod(method), params) {
			req.Header.Set(k, v)
		}
	}
	for k, vs := range h {
		req.Header[k] = append([]string(nil), vs...)
	}
	Sent("POST %s with %s; body %s", url, headerList(h), body)
	resp, err := directClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, err
}

// headerList is h as "Name: value, …" in name order for a report, a bearer token's value
// withheld (a report may be published).
func headerList(h http.Header) string {
	if len(h) == 0 {
		return "no extra headers"
	}
	names := slices.Sorted(maps.Keys(h))
	parts := make([]string, 0, len(names))
	for _, n := range names {
		v := strings.Join(h[n], ", ")
		if strings.EqualFold(n, "Authorization") {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " (token withheld)"
		}
		parts = append(parts, n+": "+v)
	}
	return strings.Join(parts, ", ")
}

// modernRequest adds to a JSON-RPC request the params._meta a 2026-07-28 request carries (its
// protocol version, the client's capabilities and name), and returns it with its method and
// params; a body that is not a request object comes back as it was, with no method.
func modernRequest(body string) (string, string, json.RawMessage) {
	var msg map[string]json.RawMessage
	var method string
	if json.Unmarshal([]byte(body), &msg) != nil || json.Unmarshal(msg["method"], &method) != nil || method == "" {
		return body, "", nil
	}
	params := map[string]json.RawMessage{}
	if raw, ok := msg["params"]; ok && json.Unmarshal(raw, &params) != nil {
		return body, method, raw
	}
	meta := map[string]any{}
	if raw, ok := params["_meta"]; ok {
		_ = json.Unmarshal(raw, &meta)
	}
	meta[mcp.MetaKeyProtocolVersion] = mcp.ProtocolVersion20260728
	meta[mcp.MetaKeyClientCapabilities] = map[string]any{}
	meta[mcp.MetaKeyClientInfo] = map[string]string{"name": "mcpsso-suites", "version": "1"}
	params["_meta"], _ = json.Marshal(meta)
	msg["params"], _ = json.Marshal(params)
	out, err := json.Marshal(msg)
	if err != nil {
		return body, method, msg["params"]
	}
	return string(out), method, msg["params"]
}
