// Package server is an MCP server written with mark3labs/mcp-go for the pattern mcpsso tests:
// behind API Gateway and its Lambda authorizer, it acts for each user under the user's own IAM
// role, assumed per request with the task role's credentials, the user's SourceIdentity and
// the tenant session tag, so that the tenant policies decide what the user may touch. Its
// tools speak of files by s3:// URI (identity, read_file, list_files, write_file,
// delete_file), not as the reference server's do, so its tests map the suites onto them.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Defect is a deliberate mistake, to show that the conformance suites catch it.
type Defect string

const (
	// IgnoresTenantTag assumes the user's role without the tenant session tag.
	IgnoresTenantTag Defect = "ignores-tenant-tag"
	// UsesTaskRole acts with the task role's own credentials instead of the user's session.
	UsesTaskRole Defect = "uses-task-role"
)

// Config is what the server needs from its deployment.
type Config struct {
	// AWS is the region, endpoint and the task role's credentials.
	AWS aws.Config
	// VerifyContext checks that the decided headers come from the authorizer (nil: believe
	// them, only for a server nothing but the gateway can reach).
	VerifyContext func(*http.Request) error
	// AllowedOrigins are the browser origins accepted; any other Origin is refused.
	AllowedOrigins []string
	Logger         *slog.Logger
	Defect         Defect
}

type srv struct{ Config }

type callerKey struct{}

// New is the server's handler for the MCP endpoint.
func New(c Config) http.Handler {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &srv{c}
	m := mcpserver.NewMCPServer("mcpgo-example", "1.0.0", mcpserver.WithToolCapabilities(false), mcpserver.WithRecovery())
	uri := mcp.WithString("uri", mcp.Required(), mcp.Description("s3://bucket/key"))
	m.AddTool(mcp.NewTool("identity", mcp.WithDescription("Who the server acts as for you")), s.tool(s.identity))
	m.AddTool(mcp.NewTool("read_file", mcp.WithDescription("Read a file"), uri), s.tool(s.readFile))
	m.AddTool(mcp.NewTool("list_files", mcp.WithDescription("List files"), mcp.WithString("bucket", mcp.Required()),
		mcp.WithString("prefix")), s.tool(s.listFiles))
	m.AddTool(mcp.NewTool("write_file", mcp.WithDescription("Write a file"), uri, mcp.WithString("text", mcp.Required())), s.tool(s.writeFile))
	m.AddTool(mcp.NewTool("delete_file", mcp.WithDescription("Delete a file"), uri), s.tool(s.deleteFile))
	h := mcpserver.NewStreamableHTTPServer(m, mcpserver.WithStateLess(true),
		mcpserver.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			c, err := decided(r.Header)
			if err != nil {
				return ctx
			}
			return context.WithValue(ctx, callerKey{}, c)
		}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if o := r.Header.Get("Origin"); o != "" && !slices.Contains(s.AllowedOrigins, o) {
			err = fmt.Errorf("origin %q is not allowed", o)
		} else if s.VerifyContext != nil {
			err = s.VerifyContext(r)
		}
		if err == nil {
			_, err = decided(r.Header)
		}
		if err != nil {
			s.Logger.Warn("request refused", "decision", "deny", "reason", err.Error())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "forbidden", "message": err.Error()})
			return
		}
		h.ServeHTTP(w, r)
	})
}

type toolBody func(ctx context.Context, cfg aws.Config, c caller, req mcp.CallToolRequest) (any, error)

// tool runs body with the caller's session; every error is a tool error saying what failed.
func (s *srv) tool(body toolBody) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		c, ok := ctx.Value(callerKey{}).(caller)
		if !ok {
			return mcp.NewToolResultError("no decided identity reached this call; refusing to act"), nil
		}
		cfg, err := s.session(ctx, c)
		var out any
		if err == nil {
			out, err = body(ctx, cfg, c, req)
		}
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		if text, isText := out.(string); isText {
			return mcp.NewToolResultText(text), nil
		}
		b, err := json.Marshal(out)
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultStructured(out, string(b)), nil
	}
}

// session is the AWS configuration the tools act with for c.
func (s *srv) session(ctx context.Context, c caller) (aws.Config, error) {
	if s.Defect == UsesTaskRole {
		return s.AWS, nil
	}
	in := &sts.AssumeRoleInput{RoleArn: aws.String(c.Role), RoleSessionName: aws.String(c.SourceIdentity),
		SourceIdentity: aws.String(c.SourceIdentity)}
	if s.Defect != IgnoresTenantTag {
		for k, v := range c.Tags {
			in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	out, err := sts.NewFromConfig(s.AWS).AssumeRole(ctx, in)
	if err != nil {
		return aws.Config{}, fmt.Errorf("sts:AssumeRole %s: %w", c.Role, err)
	}
	cfg := s.AWS.Copy()
	k := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKeyId, *k.SecretAccessKey, *k.SessionToken)
	s.Logger.Info("tool call", "role", c.Role, "source_identity", c.SourceIdentity, "tenant", c.Tenant)
	return cfg, nil
}

func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// splitURI reads s3://bucket/key.
func splitURI(req mcp.CallToolRequest) (bucket, key string, err error) {
	uri, err := req.RequireString("uri")
	if err != nil {
		return "", "", err
	}
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, key, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", errors.New("uri: want s3://bucket/key")
	}
	return bucket, key, nil
}

func (s *srv) identity(ctx context.Context, cfg aws.Config, c caller, _ mcp.CallToolRequest) (any, error) {
	me, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, err
	}
	return map[string]any{"caller": map[string]string{"arn": aws.ToString(me.Arn)},
		"session": map[string]string{"sourceIdentity": c.SourceIdentity, "tenant": c.Tenant, "role": c.Role}}, nil
}

func (s *srv) readFile(ctx context.Context, cfg aws.Config, _ caller, req mcp.CallToolRequest) (any, error) {
	bucket, key, err := splitURI(req)
	if err != nil {
		return nil, err
	}
	out, err := s3Client(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	return string(body), err
}

func (s *srv) listFiles(ctx context.Context, cfg aws.Config, _ caller, req mcp.CallToolRequest) (any, error) {
	bucket, err := req.RequireString("bucket")
	if err != nil {
		return nil, err
	}
	out, err := s3Client(cfg).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(req.GetString("prefix", ""))})
	if err != nil {
		return nil, err
	}
	files := []map[string]any{}
	for _, o := range out.Contents {
		files = append(files, map[string]any{"key": aws.ToString(o.Key), "size": aws.ToInt64(o.Size)})
	}
	return map[string]any{"files": files}, nil
}

func (s *srv) writeFile(ctx context.Context, cfg aws.Config, _ caller, req mcp.CallToolRequest) (any, error) {
	bucket, key, err := splitURI(req)
	if err != nil {
		return nil, err
	}
	text, err := req.RequireString("text")
	if err != nil {
		return nil, err
	}
	_, err = s3Client(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(text)})
	return "written", err
}

func (s *srv) deleteFile(ctx context.Context, cfg aws.Config, _ caller, req mcp.CallToolRequest) (any, error) {
	bucket, key, err := splitURI(req)
	if err != nil {
		return nil, err
	}
	_, err = s3Client(cfg).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return "deleted", err
}
