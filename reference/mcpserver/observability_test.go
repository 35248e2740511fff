package mcpserver_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// Each tool call is one JSON log line with stable keys; the bearer token the client sent is in
// no log line; identity headers other than the gateway's change nothing.
func TestToolCallsAreLoggedWithoutTheTokenAndOnlyGatewayHeadersCount(t *testing.T) {
	w := newWorld(t)
	logger, logs := jsonLogger()
	_, url := w.serve(t, mcpserver.WithLogger(logger))
	const token = "eyJhbGciOiJSUzI1NiJ9.secret-token-value.sig"
	headers := gateway("acme", "usr-alice")
	headers["Authorization"] = "Bearer " + token
	// Headers a client could send to claim another identity; the server must ignore them all.
	for k, v := range map[string]string{"X-Tenant": "globex", "X-Forwarded-User": "usr-bob", "X-Amz-Source-Identity": "usr-bob",
		"X-Role-Arn": "arn:aws:iam::111122223333:role/quilt-mcp-target-globex"} {
		headers[k] = v
	}
	c := connect(t, clients[0], url, modern, headers)
	who := c.call(t, "whoami", nil)
	if who.isError || who.structured["tenant"] != "acme" || !strings.HasSuffix(who.structured["arn"].(string), "/quilt-mcp-target-acme/usr-alice") {
		t.Fatalf("whoami = %+v; want alice of acme whatever other headers say", who)
	}
	denied := c.call(t, "get_object", map[string]any{"bucket": "quilt-tenant-globex", "key": "data.csv"})
	if !denied.isError {
		t.Fatalf("get_object on globex: %+v", denied)
	}
	_, _ = post(t, url, map[string]string{"Authorization": "Bearer " + token}, listTools) // refused: no gateway headers

	if strings.Contains(logs.String(), "secret-token-value") {
		t.Fatalf("the bearer token reached the log:\n%s", logs.String())
	}
	var calls, refusals []map[string]any
	for _, l := range logLines(t, logs) {
		switch l["msg"] {
		case "tool call":
			calls = append(calls, l)
		case "request refused":
			refusals = append(refusals, l)
		}
	}
	if len(calls) != 2 || len(refusals) != 1 {
		t.Fatalf("got %d tool-call and %d refusal lines, want 2 and 1:\n%s", len(calls), len(refusals), logs.String())
	}
	for _, key := range []string{"request_id", "source_identity", "tenant", "role_arn", "tool", "outcome", "latency_ms", "protocol_version"} {
		if _, ok := calls[0][key]; !ok {
			t.Errorf("the tool-call line lacks %q: %v", key, calls[0])
		}
	}
	if calls[0]["outcome"] != "ok" || calls[0]["source_identity"] != "usr-alice" || calls[0]["tenant"] != "acme" || calls[0]["protocol_version"] != modern {
		t.Errorf("whoami's line: %v", calls[0])
	}
	if calls[1]["outcome"] != "access_denied" || calls[1]["action"] != "s3:GetObject" || calls[1]["level"] != "WARN" {
		t.Errorf("the denied call's line: %v", calls[1])
	}
	if refusals[0]["reason"] != "missing_header" || refusals[0]["request_id"] == "" {
		t.Errorf("the refusal's line: %v", refusals[0])
	}
}

// Start serves MCP and metrics on separate listeners; the MCP listener has no /metrics.
func TestStartServesMetricsOnASeparateListener(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// No gateway signs here: the listeners are the point, so the proofs are off.
	s, err := mcpserver.Start(ctx, w.awsCfg, mcpserver.WithAddr("127.0.0.1:0"), mcpserver.WithMetricsAddr("127.0.0.1:0"), mcpserver.WithoutContextProof())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasSuffix(s.URL(), "/mcp") || !strings.HasSuffix(s.MetricsURL(), "/metrics") {
		t.Fatalf("URL %s, MetricsURL %s", s.URL(), s.MetricsURL())
	}
	c := connect(t, clients[1], s.URL(), legacy, gateway("globex", "usr-bob"))
	if r := c.call(t, "list_objects", nil); r.isError || len(objects(r)) != 1 {
		t.Fatalf("list_objects: %+v", r)
	}
	body := get(t, s.MetricsURL())
	for _, want := range []string{`sts_assume_role_total{result="ok"} 1`, `tool_calls_total{result="ok",tool="list_objects"} 1`,
		"tool_call_duration_seconds_bucket", "sts_assume_role_duration_seconds_bucket", "access_denied_total", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if got := get(t, strings.TrimSuffix(s.MetricsURL(), "/metrics")+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	resp, err := http.Get(strings.TrimSuffix(s.URL(), "/mcp") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the MCP listener: %d, want 404", resp.StatusCode)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestBadToolInputIsAToolErrorNamingTheArgument(t *testing.T) {
	w := newWorld(t)
	w.put(t, "quilt-tenant-acme", "big.txt", strings.Repeat("x", 64))
	_, url := w.serve(t, mcpserver.WithMaxObjectBytes(32))
	c := connect(t, clients[0], url, modern, gateway("acme", "usr-alice"))
	for _, tc := range []struct {
		name, tool string
		args       map[string]any
		want       string
	}{
		{"an object over the size cap is refused", "get_object", map[string]any{"key": "big.txt"}, "over this server's 32-byte cap"},
		{"content over the size cap is refused", "put_object", map[string]any{"key": "k", "content": strings.Repeat("y", 33)}, "over this server's 32-byte cap"},
		{"content that is not base64 is refused", "put_object", map[string]any{"key": "k", "content": "%%%", "encoding": "base64"}, "not valid base64"},
		{"a bucket name S3 would reject is refused", "list_objects", map[string]any{"bucket": "Not_A_Bucket"}, "argument bucket"},
		{"an unknown argument is refused", "list_objects", map[string]any{"prefx": "a"}, "prefx"},
		{"a missing key is refused", "get_object", map[string]any{}, "key"},
		{"a content type that is not a media type is refused", "put_object", map[string]any{"key": "k", "content": "x", "content_type": "not a type"}, "content_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := c.call(t, tc.tool, tc.args); !r.isError || !strings.Contains(r.text, tc.want) {
				t.Fatalf("%s %v: %+v, want a tool error containing %q", tc.tool, tc.args, r, tc.want)
			}
		})
	}
	if got := w.get(t, "quilt-tenant-acme", "big.txt"); len(got) != 64 {
		t.Errorf("big.txt changed")
	}
}
