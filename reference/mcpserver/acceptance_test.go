package mcpserver_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// The acceptance matrix: both real clients, both protocol versions, against the emulator with
// the corrected policies.
func TestATenantWorksInItsOwnBucketAndIsDeniedTheOthers(t *testing.T) {
	w := newWorld(t)
	_, url := w.serve(t)
	for _, f := range clients {
		for _, version := range []string{modern, legacy} {
			t.Run(f.name+" "+version, func(t *testing.T) {
				user := "usr-alice-" + f.name + "-" + version
				c := connect(t, f, url, version, gateway("acme", user))
				prefix := "notes-" + f.name + "-" + version + "/"

				who := c.call(t, "whoami", nil)
				wantARN := "arn:aws:sts::" + acct + ":assumed-role/quilt-mcp-target-acme/" + user
				if who.isError || who.structured["arn"] != wantARN || who.structured["sourceIdentity"] != user ||
					who.structured["tenant"] != "acme" || who.structured["bucket"] != "quilt-tenant-acme" {
					t.Fatalf("whoami = %+v, want the caller %s of tenant acme", who, wantARN)
				}

				for i := range 3 {
					r := c.call(t, "put_object", map[string]any{"key": fmt.Sprintf("%s%d.txt", prefix, i), "content": fmt.Sprintf("hello %d", i)})
					if r.isError || r.structured["bucket"] != "quilt-tenant-acme" || r.structured["size"] != float64(7) {
						t.Fatalf("put_object: %+v", r)
					}
				}
				if got := w.get(t, "quilt-tenant-acme", prefix+"1.txt"); got != "hello 1" {
					t.Fatalf("the object written holds %q", got)
				}

				page1 := c.call(t, "list_objects", map[string]any{"prefix": prefix, "max_keys": 2})
				cursor, _ := page1.structured["nextCursor"].(string)
				if page1.isError || len(objects(page1)) != 2 || page1.structured["truncated"] != true || cursor == "" {
					t.Fatalf("list_objects page 1: %+v", page1)
				}
				page2 := c.call(t, "list_objects", map[string]any{"prefix": prefix, "max_keys": 2, "cursor": cursor})
				if page2.isError || len(objects(page2)) != 1 || page2.structured["truncated"] != false || objects(page2)[0] != prefix+"2.txt" {
					t.Fatalf("list_objects page 2: %+v", page2)
				}

				if r := c.call(t, "get_object", map[string]any{"key": prefix + "0.txt"}); r.isError || r.text != "hello 0" {
					t.Fatalf("get_object text: %+v", r)
				}
				binary := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff}
				b64 := base64.StdEncoding.EncodeToString(binary)
				if r := c.call(t, "put_object", map[string]any{"key": prefix + "img.png", "content": b64, "encoding": "base64", "content_type": "image/png"}); r.isError {
					t.Fatalf("put_object binary: %+v", r)
				}
				if r := c.call(t, "get_object", map[string]any{"key": prefix + "img.png"}); r.isError || len(r.blobs) != 1 || r.blobs[0] != b64 {
					t.Fatalf("get_object binary: %+v, want one blob %s", r, b64)
				}
				if r := c.call(t, "get_object", map[string]any{"key": prefix + "missing"}); !r.isError || !strings.Contains(r.text, "NoSuchKey") {
					t.Fatalf("get_object of a missing key: %+v, want a NoSuchKey tool error", r)
				}

				other := "quilt-tenant-globex"
				for _, tc := range []struct {
					tool, action, resource string
					args                   map[string]any
				}{
					{"get_object", "s3:GetObject", "arn:aws:s3:::" + other + "/data.csv", map[string]any{"bucket": other, "key": "data.csv"}},
					{"list_objects", "s3:ListBucket", "arn:aws:s3:::" + other, map[string]any{"bucket": other}},
					{"put_object", "s3:PutObject", "arn:aws:s3:::" + other + "/pwned.txt", map[string]any{"bucket": other, "key": "pwned.txt", "content": "x"}},
				} {
					r := c.call(t, tc.tool, tc.args)
					want := "AccessDenied: " + tc.action + " on " + tc.resource + " was denied"
					if !r.isError || !strings.Contains(r.text, want) {
						t.Errorf("%s on the other tenant's bucket: %+v, want a tool error containing %q", tc.tool, r, want)
					}
				}
				if got := w.get(t, other, "data.csv"); got != "globex data\n" {
					t.Errorf("the other tenant's object changed: %q", got)
				}
			})
		}
	}
	// Every S3 request reached AWS under a tenant role's session carrying the user's source
	// identity; none under the task role.
	for _, e := range w.emu.Trail().Events(cloudtrail.Filter{EventSource: "s3.amazonaws.com"}) {
		arn := e.UserIdentity.ARN
		if strings.HasSuffix(arn, ":user/admin") {
			continue // the test's own setup
		}
		if !strings.Contains(arn, ":assumed-role/quilt-mcp-target-") || e.UserIdentity.SessionContext == nil ||
			!strings.HasPrefix(e.UserIdentity.SessionContext.SourceIdentity, "usr-alice-") {
			t.Errorf("S3 %s was made as %s (source identity %+v); want only tenant sessions with the user's source identity",
				e.EventName, arn, e.UserIdentity.SessionContext)
		}
	}
}

func objects(r toolResult) []string {
	list, _ := r.structured["objects"].([]any)
	var keys []string
	for _, o := range list {
		m, _ := o.(map[string]any)
		k, _ := m["key"].(string)
		keys = append(keys, k)
	}
	return keys
}

// The server holds only the task role; without the gateway's headers it must not act, and the
// task role itself must not be able to read any tenant's data (so a fallback would show).
func TestTheTaskRoleAloneCannotReadAnything(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t)

	for _, f := range clients {
		if _, err := f.connect(t, url, modern, nil); err == nil {
			t.Errorf("%s connected without the gateway's headers; want a refusal", f.name)
		}
	}
	if m := scrape(t, h); !strings.Contains(m, `http_requests_refused_total{reason="missing_header"}`) {
		t.Errorf("the clients' requests were not refused for a missing header:\n%s", grepMetrics(m))
	}
	resp, body := post(t, url, nil, toolsCallBody("get_object", map[string]any{"key": "data.csv"}))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "x-decided-role") {
		t.Errorf("tools/call without headers: %d %s; want 403 naming x-decided-role", resp.StatusCode, body)
	}
	if n := len(w.emu.Trail().Events(cloudtrail.Filter{EventSource: "s3.amazonaws.com", EventName: "GetObject"})); n != 0 {
		t.Errorf("%d GetObject requests reached S3 without a gateway identity", n)
	}

	// The default chain yields the task role, as on Fargate ...
	id, err := sts.NewFromConfig(w.awsCfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(id.Arn), ":assumed-role/ecsTaskRole/") {
		t.Fatalf("the default chain gives %v (%v), want the task role", aws.ToString(id.Arn), err)
	}
	// ... and the task role reads nothing.
	task := s3.NewFromConfig(w.awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, tenant := range tenants {
		_, getErr := task.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("quilt-tenant-" + tenant), Key: aws.String("data.csv")})
		_, listErr := task.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("quilt-tenant-" + tenant)})
		for op, err := range map[string]error{"GetObject": getErr, "ListObjectsV2": listErr} {
			if code(err) != "AccessDenied" {
				t.Errorf("the task role's %s on %s: %v, want AccessDenied", op, tenant, err)
			}
		}
	}
}

func code(err error) string {
	var ae smithy.APIError
	if err != nil && errorsAs(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

// A source identity the trust policy does not accept (not usr-*) is STS's AccessDenied,
// reported as a tool error naming sts:AssumeRole; nothing else is tried.
func TestAnAssumeRoleDenialIsAToolErrorNamingTheAction(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t)
	for _, f := range clients {
		c := connect(t, f, url, modern, gateway("acme", "svc-robot"))
		r := c.call(t, "whoami", nil)
		want := "AccessDenied: sts:AssumeRole on arn:aws:iam::" + acct + ":role/quilt-mcp-target-acme was denied"
		if !r.isError || !strings.Contains(r.text, want) {
			t.Errorf("%s: whoami as svc-robot = %+v, want a tool error containing %q", f.name, r, want)
		}
	}
	// x-limits asks for a session longer than the role's MaxSessionDuration (3600 s): STS's
	// ValidationError, as a tool error.
	long := gateway("acme", "usr-alice")
	long["X-Limits"] = `{"sessionSeconds":7200}`
	r := connect(t, clients[1], url, modern, long).call(t, "whoami", nil)
	if !r.isError || !strings.Contains(r.text, "ValidationError: sts:AssumeRole") {
		t.Errorf("a session over the role's maximum: %+v, want STS's ValidationError as a tool error", r)
	}
	metrics := scrape(t, h)
	for _, want := range []string{`sts_assume_role_total{result="access_denied"} 2`, `access_denied_total{action="sts:AssumeRole"} 2`,
		`tool_calls_total{result="access_denied",tool="whoami"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepMetrics(metrics))
		}
	}
}

// STS down (connection refused) or slow (no answer) is a tool error within the request
// deadline; the server never falls back to other credentials.
func TestSTSDownOrSlowIsAToolErrorWithinTheDeadline(t *testing.T) {
	w := newWorld(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	_ = dead.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })

	for _, tc := range []struct {
		name, stsEndpoint, want string
	}{
		{"a refused connection to STS is a tool error", deadURL, "sts:AssumeRole on arn:aws:iam::" + acct + ":role/quilt-mcp-target-acme failed"},
		{"an STS that never answers is a tool error at the deadline", slow.URL, "did not finish before the request deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_STS", tc.stsEndpoint)
			t.Setenv("AWS_MAX_ATTEMPTS", "2")
			cfg, err := config.LoadDefaultConfig(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			h, err := mcpserver.New(cfg, mcpserver.WithRequestTimeout(500*time.Millisecond), mcpserver.WithContextProofSecret(proofSecret))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(signedByGateway(t, h, time.Now))
			defer srv.Close()
			before := len(w.emu.Trail().Events(cloudtrail.Filter{EventSource: "s3.amazonaws.com"}))

			c := connect(t, clients[0], srv.URL+h.Path(), modern, gateway("acme", "usr-alice"))
			// A generous deadline: the tool error must come from the server's own, much shorter one.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			res, err := callWithContext(ctx, c, "get_object", map[string]any{"key": "data.csv"})
			if err != nil {
				t.Fatalf("the call failed instead of returning a tool error: %v", err)
			}
			if !res.isError || !strings.Contains(res.text, tc.want) {
				t.Fatalf("got %+v, want a tool error containing %q", res, tc.want)
			}
			if after := len(w.emu.Trail().Events(cloudtrail.Filter{EventSource: "s3.amazonaws.com"})); after != before {
				t.Errorf("%d S3 requests were made although no session was assumed", after-before)
			}
			if m := scrape(t, h); !strings.Contains(m, `sts_assume_role_total{result="error"} 1`) || !strings.Contains(m, `tool_calls_total{result="error",tool="get_object"} 1`) {
				t.Errorf("metrics do not count the STS error:\n%s", grepMetrics(m))
			}
		})
	}
}

// callWithContext calls a tool through mcp-go's client with ctx.
func callWithContext(ctx context.Context, c mcpClient, tool string, args map[string]any) (toolResult, error) {
	return c.(*mcpGoClient).callContext(ctx, tool, args)
}
