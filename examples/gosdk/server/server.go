// Package server is an MCP server written with the official MCP Go SDK for the pattern mcpsso
// tests: behind API Gateway and its Lambda authorizer, it acts for each user under the user's
// own IAM role, assumed per request with the task role's credentials, the user's
// SourceIdentity and the tenant session tag, so that the tenant policies decide what the user
// may touch.
package server

import (
	"context"
	"encoding/json"
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
	"github.com/modelcontextprotocol/go-sdk/mcp"
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

// New is the server's handler for the MCP endpoint.
func New(c Config) http.Handler {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &srv{c}
	m := mcp.NewServer(&mcp.Implementation{Name: "gosdk-example", Version: "1.0.0"}, nil)
	mcp.AddTool(m, &mcp.Tool{Name: "whoami", Description: "Who the server acts as for you"}, s.whoami)
	mcp.AddTool(m, &mcp.Tool{Name: "get_object", Description: "Read an object"}, s.getObject)
	mcp.AddTool(m, &mcp.Tool{Name: "list_objects", Description: "List objects"}, s.listObjects)
	mcp.AddTool(m, &mcp.Tool{Name: "put_object", Description: "Write an object"}, s.putObject)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return m }, &mcp.StreamableHTTPOptions{Stateless: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !slices.Contains(s.AllowedOrigins, o) {
			s.refuse(w, fmt.Errorf("origin %q is not allowed", o))
			return
		}
		if s.VerifyContext != nil {
			if err := s.VerifyContext(r); err != nil {
				s.refuse(w, err)
				return
			}
		}
		if _, err := decided(r.Header); err != nil {
			s.refuse(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *srv) refuse(w http.ResponseWriter, err error) {
	s.Logger.Warn("request refused", "decision", "deny", "reason", err.Error())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "forbidden", "message": err.Error()})
}

// session is the AWS configuration the tools act with for the caller.
func (s *srv) session(ctx context.Context, req *mcp.CallToolRequest) (aws.Config, caller, error) {
	c, err := decided(req.Extra.Header)
	if err != nil {
		return aws.Config{}, c, err
	}
	if s.Defect == UsesTaskRole {
		return s.AWS, c, nil
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
		return aws.Config{}, c, fmt.Errorf("sts:AssumeRole %s: %w", c.Role, err)
	}
	cfg := s.AWS.Copy()
	k := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKeyId, *k.SecretAccessKey, *k.SessionToken)
	s.Logger.Info("tool call", "role", c.Role, "source_identity", c.SourceIdentity, "tenant", c.Tenant)
	return cfg, c, nil
}

func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// Identity is whoami's answer.
type Identity struct {
	ARN            string `json:"arn"`
	SourceIdentity string `json:"sourceIdentity"`
	Tenant         string `json:"tenant"`
	Role           string `json:"role"`
}

func (s *srv) whoami(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, Identity, error) {
	cfg, c, err := s.session(ctx, req)
	if err != nil {
		return nil, Identity{}, err
	}
	me, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, Identity{}, err
	}
	return nil, Identity{ARN: aws.ToString(me.Arn), SourceIdentity: c.SourceIdentity, Tenant: c.Tenant, Role: c.Role}, nil
}

type objectArgs struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

func (s *srv) getObject(ctx context.Context, req *mcp.CallToolRequest, in objectArgs) (*mcp.CallToolResult, any, error) {
	cfg, _, err := s.session(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	out, err := s3Client(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(in.Bucket), Key: aws.String(in.Key)})
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(body)}}}, nil, nil
}

type listArgs struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix,omitempty"`
}

// Listing is list_objects's answer.
type Listing struct {
	Objects []Object `json:"objects"`
}

// Object is one listed object.
type Object struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

func (s *srv) listObjects(ctx context.Context, req *mcp.CallToolRequest, in listArgs) (*mcp.CallToolResult, Listing, error) {
	cfg, _, err := s.session(ctx, req)
	if err != nil {
		return nil, Listing{}, err
	}
	out, err := s3Client(cfg).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(in.Bucket), Prefix: aws.String(in.Prefix)})
	if err != nil {
		return nil, Listing{}, err
	}
	l := Listing{Objects: []Object{}}
	for _, o := range out.Contents {
		l.Objects = append(l.Objects, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
	}
	return nil, l, nil
}

type putArgs struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Content string `json:"content"`
}

func (s *srv) putObject(ctx context.Context, req *mcp.CallToolRequest, in putArgs) (*mcp.CallToolResult, any, error) {
	cfg, _, err := s.session(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s3Client(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(in.Bucket), Key: aws.String(in.Key),
		Body: strings.NewReader(in.Content)}); err != nil {
		return nil, nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "written s3://" + in.Bucket + "/" + in.Key}}}, nil, nil
}
