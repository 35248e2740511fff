// Command taskrolemcp is a deliberately WRONG third-party MCP server, for demonstrating
// containers.WithMCPImage (`mcpsso conform --target containers --mcp-image ...`): it serves the
// reference server's tools (whoami, list_objects, get_object, put_object, with the same
// argument names) on 0.0.0.0:8080/mcp, but ignores the x-decided-role header and acts for every
// caller with the task role's own credentials from the SDK default chain. It reads the tenant
// from x-session-tags only to name the bucket (quilt-tenant-<tenant>).
//
// On a correct deployment the task role may do nothing but assume the target roles, so every
// S3 call fails with AccessDenied and whoami reports the task role, not the caller's role: the
// conformance suites fail it, which is the point. Do not use it as a model.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

const addr = "0.0.0.0:8080"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("taskrolemcp stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	// The mistake: the default chain's credentials (the task role) serve every caller.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading the AWS SDK configuration: %w", err)
	}
	t := &tools{
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), // the emulator is on a bare host name
		sts: sts.NewFromConfig(cfg),
		log: log,
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", server.NewStreamableHTTPServer(t.server(), server.WithStateLess(true)))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("taskrolemcp listening", "addr", addr, "path", "/mcp")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

type tools struct {
	s3  *s3.Client
	sts *sts.Client
	log *slog.Logger
}

func (t *tools) server() *server.MCPServer {
	s := server.NewMCPServer("taskrolemcp", "0.0.1", server.WithToolCapabilities(false), server.WithRecovery())
	bucket := mcp.WithString("bucket", mcp.Description("Bucket to use instead of your tenant's."))
	s.AddTool(mcp.NewTool("whoami", mcp.WithDescription("The AWS identity this server acts as.")), t.whoami)
	s.AddTool(mcp.NewTool("list_objects", mcp.WithDescription("List objects in your tenant's bucket."),
		mcp.WithString("prefix"), mcp.WithString("cursor"), mcp.WithNumber("max_keys"), bucket), t.listObjects)
	s.AddTool(mcp.NewTool("get_object", mcp.WithDescription("Read one object."),
		mcp.WithString("key", mcp.Required()), bucket), t.getObject)
	s.AddTool(mcp.NewTool("put_object", mcp.WithDescription("Write one object."),
		mcp.WithString("key", mcp.Required()), mcp.WithString("content", mcp.Required()),
		mcp.WithString("encoding"), mcp.WithString("content_type"), bucket), t.putObject)
	return s
}

// tenant reads the tenant from x-session-tags, in either form the gateway sends.
func tenant(h http.Header) string {
	v := h.Get("X-Session-Tags")
	var list []struct{ Key, Value string }
	if json.Unmarshal([]byte(v), &list) == nil {
		for _, tag := range list {
			if tag.Key == "tenant" {
				return tag.Value
			}
		}
	}
	var obj map[string]string
	if json.Unmarshal([]byte(v), &obj) == nil {
		return obj["tenant"]
	}
	return ""
}

func bucketOf(req mcp.CallToolRequest) (string, error) {
	if b := req.GetString("bucket", ""); b != "" {
		return b, nil
	}
	if tn := tenant(req.Header); tn != "" {
		return "quilt-tenant-" + tn, nil
	}
	return "", errors.New("no tenant in x-session-tags and no bucket argument")
}

func (t *tools) whoami(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	out, err := t.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return t.fail("whoami", err), nil
	}
	// The role it reports is the one it runs as, whatever the gateway decided.
	role := ""
	if a, err := arn.Parse(aws.ToString(out.Arn)); err == nil && strings.HasPrefix(a.Resource, "assumed-role/") {
		name, _, _ := strings.Cut(strings.TrimPrefix(a.Resource, "assumed-role/"), "/")
		role = "arn:" + a.Partition + ":iam::" + a.AccountID + ":role/" + name
	}
	res := map[string]any{"arn": aws.ToString(out.Arn), "account": aws.ToString(out.Account), "userId": aws.ToString(out.UserId),
		"sourceIdentity": req.Header.Get("X-Source-Identity"), "tenant": tenant(req.Header), "role": role}
	t.log.Info("tool call", "tool", "whoami", "arn", aws.ToString(out.Arn))
	return structured(res), nil
}

func (t *tools) listObjects(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	b, err := bucketOf(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b)}
	if p := req.GetString("prefix", ""); p != "" {
		in.Prefix = aws.String(p)
	}
	if c := req.GetString("cursor", ""); c != "" {
		in.ContinuationToken = aws.String(c)
	}
	if n := req.GetInt("max_keys", 0); n > 0 {
		in.MaxKeys = aws.Int32(int32(n))
	}
	out, err := t.s3.ListObjectsV2(ctx, in)
	if err != nil {
		return t.fail("list_objects", err), nil
	}
	objects := []map[string]any{}
	for _, o := range out.Contents {
		objects = append(objects, map[string]any{"key": aws.ToString(o.Key), "size": aws.ToInt64(o.Size)})
	}
	return structured(map[string]any{"bucket": b, "objects": objects, "truncated": aws.ToBool(out.IsTruncated),
		"nextCursor": aws.ToString(out.NextContinuationToken)}), nil
}

func (t *tools) getObject(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	b, err := bucketOf(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	out, err := t.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(req.GetString("key", ""))})
	if err != nil {
		return t.fail("get_object", err), nil
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	if err != nil {
		return t.fail("get_object", err), nil
	}
	return mcp.NewToolResultText(string(body)), nil
}

func (t *tools) putObject(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	b, err := bucketOf(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	key, content := req.GetString("key", ""), req.GetString("content", "")
	if _, err := t.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key),
		Body: strings.NewReader(content), ContentLength: aws.Int64(int64(len(content)))}); err != nil {
		return t.fail("put_object", err), nil
	}
	return structured(map[string]any{"bucket": b, "key": key, "size": len(content)}), nil
}

func (t *tools) fail(tool string, err error) *mcp.CallToolResult {
	t.log.Warn("tool call", "tool", tool, "error", err.Error())
	return mcp.NewToolResultError(tool + ": " + err.Error())
}

func structured(v any) *mcp.CallToolResult {
	b, _ := json.Marshal(v)
	return mcp.NewToolResultStructured(v, string(b))
}
