package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	gosdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
	"github.com/mcpsso/mcpsso/reference/policies"
)

const (
	acct        = "111122223333"
	taskRoleARN = "arn:aws:iam::" + acct + ":role/ecsTaskRole"
	modern      = "2026-07-28"
	legacy      = "2025-11-25"
)

var tenants = []string{"acme", "globex"}

// ecsTrust lets ECS (the emulator's container-credentials endpoint) assume the task role.
const ecsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// world is the tutorial's deployment on the embedded emulator with the reference (corrected)
// policies: a task role that may only assume target roles, one target role and one bucket per
// tenant, and this process's SDK default chain pointed at the task role's ECS endpoint.
type world struct {
	emu    *awsemu.Server
	admin  aws.Config
	awsCfg aws.Config // the default chain: the task role, as on Fargate
	// proofClock is the clock the tests' gateway signs context proofs at (default time.Now):
	// a test that gives the server a clock of its own gives it here too.
	proofClock func() time.Time
}

// proofSecret is the context proof secret the tests' gateway (signedByGateway) and servers share.
var proofSecret = []byte("mcpsso-tests-context-proof-secret-0123456789")

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	emu, err := awsemu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	adminCreds, err := emu.AdminCredentials(acct)
	if err != nil {
		t.Fatal(err)
	}
	admin := aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(emu.Endpoint()),
		Credentials: credentials.StaticCredentialsProvider{Value: adminCreds}, RetryMaxAttempts: 1}
	w := &world{emu: emu, admin: admin}
	vars := map[string]string{"acct": acct, "ecsTaskRole": "ecsTaskRole"}
	w.createRole(t, "ecsTaskRole", ecsTrust, map[string]string{"task": loadPolicy(t, "task-role-policy", vars)})
	for _, tenant := range tenants {
		w.createRole(t, "quilt-mcp-target-"+tenant, loadPolicy(t, "target-role-trust-policy", map[string]string{"acct": acct, "ecsTaskRole": "ecsTaskRole", "tenant": tenant}),
			map[string]string{"abac": loadPolicy(t, "target-role-policy", vars)})
		bucket := "quilt-tenant-" + tenant
		c := w.adminS3()
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		policy := loadPolicy(t, "tenant-bucket-policy", map[string]string{"acct": acct, "tenant": tenant})
		if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		w.put(t, bucket, "data.csv", tenant+" data\n")
	}
	ep, err := emu.StartTaskRoleEndpoint(ctx, taskRoleARN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Close() })
	isolateAWSEnv(t, emu.Endpoint())
	for _, kv := range ep.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if w.awsCfg, err = config.LoadDefaultConfig(ctx); err != nil {
		t.Fatal(err)
	}
	// A connection the SDK dialed but never used keeps the emulator's graceful Close waiting
	// five seconds; this transport's idle connections are closed first (cleanups run last in,
	// first out).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	w.awsCfg.HTTPClient = &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(tr.CloseIdleConnections)
	return w
}

// isolateAWSEnv clears every AWS_* variable and points the SDK at endpoint only, so that the
// default chain can find nothing but what the test gives it.
func isolateAWSEnv(t testing.TB, endpoint string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			_ = os.Unsetenv(k) // t.Setenv restores the old value afterwards
		}
	}
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", awsemu.DefaultRegion)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
}

func loadPolicy(t testing.TB, name string, vars map[string]string) string {
	t.Helper()
	doc, err := policies.Load(policies.Reference, name, vars)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

func (w *world) createRole(t testing.TB, name, trust string, inline map[string]string) {
	t.Helper()
	c := iam.NewFromConfig(w.admin)
	ctx := context.Background()
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
	for pn, doc := range inline {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatalf("PutRolePolicy %s/%s: %v", name, pn, err)
		}
	}
}

func (w *world) adminS3() *s3.Client {
	return s3.NewFromConfig(w.admin, func(o *s3.Options) { o.UsePathStyle = true })
}

func (w *world) put(t testing.TB, bucket, key, body string) {
	t.Helper()
	if _, err := w.adminS3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) get(t testing.TB, bucket, key string) string {
	t.Helper()
	out, err := w.adminS3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("admin GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}

// serve runs a Handler on an httptest server (loopback, so the default Host guard applies).
// serve starts a server with the tests' context proof secret behind signedByGateway, so that
// every request reaches it proven as through the real gateway, with its own headers as sent.
func (w *world) serve(t testing.TB, opts ...mcpserver.Option) (*mcpserver.Handler, string) {
	t.Helper()
	h, err := mcpserver.New(w.awsCfg, append([]mcpserver.Option{mcpserver.WithContextProofSecret(proofSecret)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	clock := w.proofClock
	if clock == nil {
		clock = time.Now
	}
	srv := httptest.NewServer(signedByGateway(t, h, clock))
	t.Cleanup(func() {
		srv.Close()
		_ = h.Close(context.Background())
	})
	return h, srv.URL + h.Path()
}

// signedByGateway adds what the authorizer and gateway add to each request: a context proof
// over its method, path and decided headers as they are, unless the request carries one.
func signedByGateway(t testing.TB, h http.Handler, now func() time.Time) http.Handler {
	key, err := contextproof.NewKey(proofSecret)
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(mcpserver.HeaderContextProof) == "" {
			p, err := key.Sign(contextproof.Context{Method: r.Method, Path: r.URL.Path,
				DecidedRole: r.Header.Get(mcpserver.HeaderDecidedRole), SourceIdentity: r.Header.Get(mcpserver.HeaderSourceIdentity),
				SessionTags: r.Header.Get(mcpserver.HeaderSessionTags), Limits: r.Header.Get(mcpserver.HeaderLimits)}, contextproof.NewNonce(), now())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			r.Header.Set(mcpserver.HeaderContextProof, p)
		}
		h.ServeHTTP(w, r)
	})
}

// gateway returns the headers the gateway injects for user of tenant.
func gateway(tenant, user string) map[string]string {
	return map[string]string{
		"X-Decided-Role":    "arn:aws:iam::" + acct + ":role/quilt-mcp-target-" + tenant,
		"X-Source-Identity": user,
		"X-Session-Tags":    `[{"Key":"tenant","Value":"` + tenant + `"}]`,
	}
}

// toolResult is a tool call's answer, whichever client made it.
type toolResult struct {
	isError    bool
	text       string // the text contents, joined
	structured map[string]any
	blobs      []string // base64 blobs of embedded resources
}

// mcpClient is a real MCP client connected to the server: mcp-go's or the official go-sdk's.
type mcpClient interface {
	call(t testing.TB, tool string, args map[string]any) toolResult
	protocolVersion() string
	sessionID() string
}

type clientFactory struct {
	name    string
	connect func(t testing.TB, url, version string, headers map[string]string) (mcpClient, error)
}

var clients = []clientFactory{{"mcp-go", connectMCPGo}, {"go-sdk", connectGoSDK}}

type mcpGoClient struct{ c *mcpclient.Client }

func connectMCPGo(t testing.TB, url, version string, headers map[string]string) (mcpClient, error) {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers))
	if err != nil {
		return nil, err
	}
	c := mcpclient.NewClient(tr, mcpclient.WithProtocolVersion(version))
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "mcpserver-test", Version: "1"}
	req.Params.ProtocolVersion = version
	if _, err := c.Initialize(context.Background(), req); err != nil {
		return nil, err
	}
	return &mcpGoClient{c: c}, nil
}

func (m *mcpGoClient) call(t testing.TB, tool string, args map[string]any) toolResult {
	t.Helper()
	out, err := m.callContext(context.Background(), tool, args)
	if err != nil {
		t.Fatalf("mcp-go CallTool %s: %v", tool, err)
	}
	return out
}

func (m *mcpGoClient) callContext(ctx context.Context, tool string, args map[string]any) (toolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := m.c.CallTool(ctx, req)
	if err != nil {
		return toolResult{}, err
	}
	out := toolResult{isError: res.IsError}
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &out.structured)
	}
	for _, c := range res.Content {
		switch c := c.(type) {
		case mcp.TextContent:
			out.text += c.Text
		case mcp.EmbeddedResource:
			if b, ok := c.Resource.(mcp.BlobResourceContents); ok {
				out.blobs = append(out.blobs, b.Blob)
			}
		}
	}
	return out, nil
}

func (m *mcpGoClient) protocolVersion() string { return m.c.ProtocolVersion() }
func (m *mcpGoClient) sessionID() string       { return m.c.GetSessionId() }

type goSDKClient struct{ cs *gosdk.ClientSession }

// headerTransport adds the gateway's headers to every request, as the gateway would.
type headerTransport struct{ headers map[string]string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func connectGoSDK(t testing.TB, url, version string, headers map[string]string) (mcpClient, error) {
	t.Helper()
	c := gosdk.NewClient(&gosdk.Implementation{Name: "mcpserver-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &gosdk.StreamableClientTransport{Endpoint: url,
		HTTPClient: &http.Client{Transport: headerTransport{headers}}, MaxRetries: -1},
		&gosdk.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = cs.Close() })
	return &goSDKClient{cs: cs}, nil
}

func (g *goSDKClient) call(t testing.TB, tool string, args map[string]any) toolResult {
	t.Helper()
	res, err := g.cs.CallTool(context.Background(), &gosdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("go-sdk CallTool %s: %v", tool, err)
	}
	out := toolResult{isError: res.IsError, structured: asMap(t, res.StructuredContent)}
	for _, c := range res.Content {
		switch c := c.(type) {
		case *gosdk.TextContent:
			out.text += c.Text
		case *gosdk.EmbeddedResource:
			if c.Resource != nil && c.Resource.Blob != nil {
				out.blobs = append(out.blobs, base64.StdEncoding.EncodeToString(c.Resource.Blob))
			}
		}
	}
	return out
}

func (g *goSDKClient) protocolVersion() string { return g.cs.InitializeResult().ProtocolVersion }
func (g *goSDKClient) sessionID() string       { return g.cs.ID() }

// asMap turns structured content, whatever its Go type, into a JSON object.
func asMap(t testing.TB, v any) map[string]any {
	t.Helper()
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("structured content is not an object: %s", b)
	}
	return m
}

// connect connects a client and checks it got the protocol version it asked for (a client
// falling back to the older version silently would hide a broken modern path).
func connect(t testing.TB, f clientFactory, url, version string, headers map[string]string) mcpClient {
	t.Helper()
	c, err := f.connect(t, url, version, headers)
	if err != nil {
		t.Fatalf("%s connect (%s): %v", f.name, version, err)
	}
	if got := c.protocolVersion(); got != version {
		t.Fatalf("%s negotiated protocol %s, want %s", f.name, got, version)
	}
	return c
}

// post sends one raw JSON-RPC request, for the refusal tests that need exact control.
func post(t testing.TB, url string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// toolsCallBody is a 2025-11-25 tools/call request (stateless servers accept it without
// initialize), calling tool with args.
func toolsCallBody(tool string, args map[string]any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	return string(b)
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLogger logs JSON lines into a buffer the test reads.
func jsonLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// logLines decodes the JSON log lines.
func logLines(t testing.TB, buf *syncBuffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	return lines
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// scrape returns h's metrics in the Prometheus text format.
func scrape(t testing.TB, h *mcpserver.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// grepMetrics keeps the server's own series, for readable failure messages.
func grepMetrics(text string) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "go_") && !strings.HasPrefix(l, "process_") && !strings.Contains(l, "_bucket{") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
