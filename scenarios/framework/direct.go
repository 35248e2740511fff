package framework

import (
	"context"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
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

// PostMCP POSTs a JSON-RPC body to url as an MCP client of protocol 2025-11-25 without a
// session does, with h's headers added and no others: no token unless h has one.
func PostMCP(ctx context.Context, url string, h http.Header, body string) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	// 2025-11-25 without a session: a stateless server serves a request without initialize.
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
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
