package gosdkserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxReadBytes bounds what read_file returns.
const maxReadBytes = 1 << 20

// maxSearchKeys bounds one search's matches.
const maxSearchKeys = 1000

// Identity is the identity tool's answer: who AWS sees (caller) and the session the server
// made for the user (session).
type Identity struct {
	Caller  Caller  `json:"caller"`
	Session Session `json:"session"`
}

// Caller is STS GetCallerIdentity, called with the user's session.
type Caller struct {
	ARN     string `json:"arn" jsonschema:"the assumed-role session ARN the tools act as"`
	Account string `json:"account"`
	UserID  string `json:"userId"`
}

// Session is the STS session made for the user.
type Session struct {
	Role           string    `json:"role" jsonschema:"the ARN of the tenant's role"`
	SourceIdentity string    `json:"sourceIdentity" jsonschema:"the source identity STS recorded for the session"`
	Tenant         string    `json:"tenant"`
	User           string    `json:"user" jsonschema:"the user's email"`
	Expires        time.Time `json:"expires"`
}

type identityArgs struct{}

type fileArgs struct {
	URI string `json:"uri" jsonschema:"the file, as s3://bucket/key"`
}

// File is read_file's answer.
type File struct {
	URI         string `json:"uri"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size"`
	Text        string `json:"text"`
}

type writeArgs struct {
	URI  string `json:"uri" jsonschema:"the file, as s3://bucket/key"`
	Text string `json:"text" jsonschema:"the file's new content"`
}

// Written is write_file's answer.
type Written struct {
	URI  string `json:"uri"`
	Size int    `json:"size"`
	ETag string `json:"etag,omitempty"`
}

// Deleted is delete_file's answer.
type Deleted struct {
	URI     string `json:"uri"`
	Deleted bool   `json:"deleted"`
}

type searchArgs struct {
	Bucket string `json:"bucket,omitempty" jsonschema:"the bucket to search (default: your tenant's)"`
	Prefix string `json:"prefix,omitempty" jsonschema:"only keys that start with this"`
}

// SearchResult is search's answer.
type SearchResult struct {
	Bucket    string  `json:"bucket"`
	Prefix    string  `json:"prefix"`
	Matches   []Match `json:"matches"`
	Truncated bool    `json:"truncated"`
}

// Match is one file search found.
type Match struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"lastModified"`
}

func (s *Server) addTools(server *mcp.Server) {
	mcp.AddTool(server, &mcp.Tool{Name: "identity", Description: "Who the server acts as for you: the AWS caller and the STS session made for you.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}, s.identity)
	mcp.AddTool(server, &mcp.Tool{Name: "read_file", Description: "Read a text file from S3 (s3://bucket/key), as you.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}, s.readFile)
	mcp.AddTool(server, &mcp.Tool{Name: "search", Description: "List the files of a bucket (default: your tenant's) whose keys start with a prefix.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}, s.search)
	mcp.AddTool(server, &mcp.Tool{Name: "write_file", Description: "Write a text file to S3 (s3://bucket/key), as you."}, s.writeFile)
	mcp.AddTool(server, &mcp.Tool{Name: "delete_file", Description: "Delete a file from S3 (s3://bucket/key), as you."}, s.deleteFile)
}

func (s *Server) identity(ctx context.Context, req *mcp.CallToolRequest, _ identityArgs) (*mcp.CallToolResult, Identity, error) {
	c, err := s.callerOf(req)
	if err != nil {
		return nil, Identity{}, err
	}
	sess, err := s.assume(ctx, c, c.Tenant)
	if err != nil {
		return nil, Identity{}, err
	}
	me, err := sts.NewFromConfig(sess.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, Identity{}, s.awsError(ctx, c, "sts:GetCallerIdentity", sess.roleARN, err)
	}
	s.logCall(ctx, "identity", c, sess, sess.roleARN)
	return nil, Identity{
		Caller: Caller{ARN: aws.ToString(me.Arn), Account: aws.ToString(me.Account), UserID: aws.ToString(me.UserId)},
		Session: Session{Role: sess.roleARN, SourceIdentity: sess.sourceIdentity, Tenant: sess.tenant, User: c.Email,
			Expires: sess.expires},
	}, nil
}

func (s *Server) readFile(ctx context.Context, req *mcp.CallToolRequest, in fileArgs) (*mcp.CallToolResult, File, error) {
	c, bucket, key, err := s.fileCall(req, in.URI)
	if err != nil {
		return nil, File{}, err
	}
	sess, err := s.assume(ctx, c, s.tenantFor(c, bucket))
	if err != nil {
		return nil, File{}, err
	}
	out, err := s.s3(sess).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, File{}, s.awsError(ctx, c, "s3:GetObject", in.URI, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxReadBytes+1))
	if err != nil {
		return nil, File{}, fmt.Errorf("reading %s: %w", in.URI, err)
	}
	switch {
	case len(body) > maxReadBytes:
		return nil, File{}, fmt.Errorf("%s is over %d bytes: read_file returns text files of at most 1 MiB", in.URI, maxReadBytes)
	case !utf8.Valid(body):
		return nil, File{}, fmt.Errorf("%s is not UTF-8 text", in.URI)
	}
	s.logCall(ctx, "read_file", c, sess, in.URI)
	return nil, File{URI: in.URI, ContentType: aws.ToString(out.ContentType), Size: int64(len(body)), Text: string(body)}, nil
}

func (s *Server) search(ctx context.Context, req *mcp.CallToolRequest, in searchArgs) (*mcp.CallToolResult, SearchResult, error) {
	c, err := s.callerOf(req)
	if err != nil {
		return nil, SearchResult{}, err
	}
	bucket := in.Bucket
	if bucket == "" {
		bucket = strings.ReplaceAll(s.cfg.bucketTemplate, "{tenant}", c.Tenant)
	}
	sess, err := s.assume(ctx, c, s.tenantFor(c, bucket))
	if err != nil {
		return nil, SearchResult{}, err
	}
	where := "s3://" + bucket + "/" + in.Prefix
	out, err := s.s3(sess).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(in.Prefix),
		MaxKeys: aws.Int32(maxSearchKeys)})
	if err != nil {
		return nil, SearchResult{}, s.awsError(ctx, c, "s3:ListBucket", where, err)
	}
	res := SearchResult{Bucket: bucket, Prefix: in.Prefix, Matches: []Match{}, Truncated: aws.ToBool(out.IsTruncated)}
	for _, o := range out.Contents {
		res.Matches = append(res.Matches, Match{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
	}
	s.logCall(ctx, "search", c, sess, where)
	return nil, res, nil
}

func (s *Server) writeFile(ctx context.Context, req *mcp.CallToolRequest, in writeArgs) (*mcp.CallToolResult, Written, error) {
	c, bucket, key, err := s.fileCall(req, in.URI)
	if err != nil {
		return nil, Written{}, err
	}
	sess, err := s.assume(ctx, c, s.tenantFor(c, bucket))
	if err != nil {
		return nil, Written{}, err
	}
	out, err := s.s3(sess).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(in.Text), ContentType: aws.String("text/plain; charset=utf-8")})
	if err != nil {
		return nil, Written{}, s.awsError(ctx, c, "s3:PutObject", in.URI, err)
	}
	s.logCall(ctx, "write_file", c, sess, in.URI)
	return nil, Written{URI: in.URI, Size: len(in.Text), ETag: aws.ToString(out.ETag)}, nil
}

func (s *Server) deleteFile(ctx context.Context, req *mcp.CallToolRequest, in fileArgs) (*mcp.CallToolResult, Deleted, error) {
	c, bucket, key, err := s.fileCall(req, in.URI)
	if err != nil {
		return nil, Deleted{}, err
	}
	sess, err := s.assume(ctx, c, s.tenantFor(c, bucket))
	if err != nil {
		return nil, Deleted{}, err
	}
	if _, err := s.s3(sess).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return nil, Deleted{}, s.awsError(ctx, c, "s3:DeleteObject", in.URI, err)
	}
	s.logCall(ctx, "delete_file", c, sess, in.URI)
	return nil, Deleted{URI: in.URI, Deleted: true}, nil
}

// fileCall is the caller and the parsed URI of a tool that takes one file.
func (s *Server) fileCall(req *mcp.CallToolRequest, uri string) (principal, string, string, error) {
	c, err := s.callerOf(req)
	if err != nil {
		return principal{}, "", "", err
	}
	bucket, key, err := parseURI(uri)
	return c, bucket, key, err
}

// callerOf is the principal of the verified token the request came with.
func (s *Server) callerOf(req *mcp.CallToolRequest) (principal, error) {
	if req.Extra == nil || req.Extra.TokenInfo == nil {
		return principal{}, errors.New("no verified token came with this call")
	}
	c, ok := req.Extra.TokenInfo.Extra[principalKey].(principal)
	if !ok || s.refusal(c) != "" {
		return principal{}, errors.New("the call's token names no user of a tenant")
	}
	if s.cfg.defect == TrustsForwardedIdentity && req.Extra.Header != nil {
		// The defect: "a proxy in front already signed the user in".
		if fwd := req.Extra.Header.Get(HeaderForwardedUser); fwd != "" {
			c.SourceIdentity = "usr-" + fwd
		}
	}
	return c, nil
}

// tenantFor is the tenant whose role acts on bucket for c: always the token's tenant, but for
// the TenantFromURI defect, which reads it from the bucket's name.
func (s *Server) tenantFor(c principal, bucket string) string {
	if s.cfg.defect == TenantFromURI {
		prefix, suffix, _ := strings.Cut(s.cfg.bucketTemplate, "{tenant}")
		if t, ok := strings.CutPrefix(bucket, prefix); ok {
			if t, ok = strings.CutSuffix(t, suffix); ok && tenantRe.MatchString(t) {
				return t
			}
		}
	}
	return c.Tenant
}

// parseURI splits s3://bucket/key; the key keeps every character after the bucket's slash.
func parseURI(raw string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return "", "", fmt.Errorf("uri %q: must be s3://bucket/key", raw)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("uri %q: must name a bucket and a key, s3://bucket/key", raw)
	}
	if u, err := url.Parse("s3://" + bucket + "/"); err != nil || u.Host != bucket || !bucketTemplateRe.MatchString(bucket) || strings.ContainsAny(bucket, "{}") {
		return "", "", fmt.Errorf("uri %q: %q is not a bucket name (lower-case letters, digits, dots and hyphens)", raw, bucket)
	}
	return bucket, key, nil
}

func (s *Server) s3(sess session) *s3.Client {
	return s3.NewFromConfig(sess.cfg, func(o *s3.Options) { o.UsePathStyle = s.cfg.pathStyle })
}
