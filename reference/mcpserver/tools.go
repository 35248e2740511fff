package mcpserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The tools, in the order tools/list shows them.
var toolNames = []string{"whoami", "list_objects", "get_object", "put_object"}

const (
	maxKeyBytes     = 1024
	defaultMaxKeys  = 100
	maxListMaxKeys  = 1000
	serverName      = "mcpsso-reference-mcp-server"
	serverVersion   = "0.1.0"
	instructionText = `Tools act on your tenant's S3 bucket with your own IAM session (STS AssumeRole with your source identity and session tags). AWS decides what you may do; a denial names the IAM action.`
)

func (h *Handler) newMCPServer() *server.MCPServer {
	s := server.NewMCPServer(serverName, serverVersion,
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithInputSchemaValidation(),
		server.WithStrictInputSchemaDefault(),
		server.WithInstructions(instructionText))
	bucketArg := mcp.WithString("bucket", mcp.Description("Bucket to use instead of your tenant's; whether you may is up to IAM."), mcp.MaxLength(63))
	readOnly := func(title string) []mcp.ToolOption {
		return []mcp.ToolOption{mcp.WithTitleAnnotation(title), mcp.WithReadOnlyHintAnnotation(true),
			mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(false)}
	}
	s.AddTool(rawSchema(mcp.NewTool("whoami", append(readOnly("Who am I"),
		mcp.WithDescription("Your AWS session as the server assumed it: the caller ARN from STS GetCallerIdentity, and the source identity, tenant, role and bucket the gateway decided."))...)),
		h.tool("whoami", h.whoami))
	s.AddTool(rawSchema(mcp.NewTool("list_objects", append(readOnly("List objects"),
		mcp.WithDescription("List objects in your tenant's bucket, a page at a time; pass nextCursor back as cursor for the next page."),
		mcp.WithString("prefix", mcp.Description("Only keys starting with this."), mcp.MaxLength(maxKeyBytes)),
		mcp.WithString("cursor", mcp.Description("nextCursor from the previous page.")),
		mcp.WithInteger("max_keys", mcp.Description("Page size, 1-1000 (default 100)."), mcp.Min(1), mcp.Max(maxListMaxKeys)),
		bucketArg)...)),
		h.tool("list_objects", h.listObjects))
	s.AddTool(rawSchema(mcp.NewTool("get_object", append(readOnly("Get object"),
		mcp.WithDescription("Read one object: text comes back as text, anything else as a base64 blob resource. Objects over the server's size cap are refused."),
		mcp.WithString("key", mcp.Required(), mcp.Description("The object's key."), mcp.MinLength(1), mcp.MaxLength(maxKeyBytes)),
		bucketArg)...)),
		h.tool("get_object", h.getObject))
	s.AddTool(rawSchema(mcp.NewTool("put_object",
		mcp.WithTitleAnnotation("Put object"), mcp.WithReadOnlyHintAnnotation(false),
		mcp.WithDestructiveHintAnnotation(true), mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false),
		mcp.WithDescription("Write one object (replacing any with the same key)."),
		mcp.WithString("key", mcp.Required(), mcp.Description("The object's key."), mcp.MinLength(1), mcp.MaxLength(maxKeyBytes)),
		mcp.WithString("content", mcp.Required(), mcp.Description("The content: text, or base64 with encoding=base64.")),
		mcp.WithString("encoding", mcp.Description("text (default) or base64."), mcp.Enum("text", "base64")),
		mcp.WithString("content_type", mcp.Description("The object's Content-Type (default text/plain; charset=utf-8, or application/octet-stream for base64)."), mcp.MaxLength(255)),
		bucketArg)),
		h.tool("put_object", h.putObject))
	return s
}

// rawSchema gives t its input schema as JSON, marshalled once here, with additionalProperties
// false (what WithStrictInputSchemaDefault gives a structured schema). mcp-go marshals a
// structured schema again on every call, for the input validation and for the x-mcp-header
// bindings; a raw one it reads as it is. tools/list shows the same document either way.
func rawSchema(t mcp.Tool) mcp.Tool {
	if t.InputSchema.AdditionalProperties == nil {
		t.InputSchema.AdditionalProperties = false
	}
	b, err := json.Marshal(t.InputSchema)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: tool %s: input schema: %v", t.Name, err)) // our own literals: unreachable
	}
	t.RawInputSchema, t.InputSchema = b, mcp.ToolInputSchema{}
	return t
}

// call is one tool call: what the gateway decided, and the user's own session credentials.
type call struct {
	st    *requestState
	creds aws.Credentials
}

func (c *call) s3Creds(o *s3.Options) {
	o.Credentials = credentials.StaticCredentialsProvider{Value: c.creds}
}
func (c *call) stsCreds(o *sts.Options) {
	o.Credentials = credentials.StaticCredentialsProvider{Value: c.creds}
}

// bucket is the bucket a call acts on: the tenant's, unless the caller names another.
func (c *call) bucket(arg string) (string, error) {
	if arg == "" {
		return c.st.bucket, nil
	}
	if err := checkBucketName(arg); err != nil {
		return "", inputErrorf("argument bucket %q: %v", arg, err)
	}
	return arg, nil
}

type toolFunc func(ctx context.Context, c *call, raw map[string]any) (*mcp.CallToolResult, error)

// tool wraps a tool's body: it refuses without a gateway identity, bounds the call by the
// request timeout, assumes the user's role, turns every error into a tool error that says what
// failed, and records the outcome in metrics and the log.
func (h *Handler) tool(name string, fn toolFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		st, ok := stateFrom(ctx)
		if !ok {
			// Unreachable through ServeHTTP; fail closed if the tools are ever mounted otherwise.
			h.metrics.toolCalls.WithLabelValues(name, resultError).Inc()
			return mcp.NewToolResultError("no gateway identity reached this tool call; refusing to act"), nil
		}
		ctx, cancel := context.WithTimeout(ctx, h.cfg.requestTimeout)
		defer cancel()
		creds, cached, err := h.sessions.credentials(ctx, st.id)
		var res *mcp.CallToolResult
		if err == nil {
			res, err = fn(ctx, &call{st: st, creds: creds}, req.GetArguments())
		}
		if err == nil && res == nil {
			err = errors.New("the tool produced no result") // never a silent empty answer
		}
		outcome, action, cause := resultOK, "", ""
		if err != nil {
			outcome = resultError
			var ae *awsCallError
			if errors.As(err, &ae) {
				ae.requestID = st.requestID
				cause = ae.err.Error()
				action = ae.action
				if ae.denied() {
					outcome = resultAccessDenied
					h.metrics.accessDenied.WithLabelValues(ae.action).Inc()
				}
			}
			res = mcp.NewToolResultError(err.Error())
		}
		elapsed := time.Since(start)
		h.metrics.toolCalls.WithLabelValues(name, outcome).Inc()
		h.metrics.toolSeconds.WithLabelValues(name).Observe(elapsed.Seconds())
		attrs := []slog.Attr{
			slog.String("request_id", st.requestID), slog.String("source_identity", st.id.SourceIdentity),
			slog.String("tenant", st.id.Tenant), slog.String("role_arn", st.id.RoleARN), slog.String("tool", name),
			slog.String("outcome", outcome), slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
			slog.String("session_cache", string(cached)), slog.String("protocol_version", server.RequestProtocolVersion(ctx)),
		}
		if st.proofNonce != "" {
			attrs = append(attrs, slog.String("proof_nonce", st.proofNonce))
		}
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("error", err.Error()))
			if action != "" {
				attrs = append(attrs, slog.String("action", action), slog.String("cause", cause))
			}
		}
		h.log.LogAttrs(ctx, level, "tool call", attrs...)
		return res, nil
	}
}

// decodeArgs decodes a tool's arguments strictly: unknown arguments and wrong types are errors.
func decodeArgs(raw map[string]any, into any) error {
	b, err := json.Marshal(raw)
	if err != nil {
		return inputErrorf("arguments: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return inputErrorf("arguments: %v", err)
	}
	return nil
}

// stringArgs is decodeArgs's result without its JSON round trip, for the usual call: every
// argument is one of names, spelled exactly, with a string of valid UTF-8 as its value (what
// encoding/json would decode unchanged). It fills dst (in the order of names) and reports true
// only then; anything else goes to decodeArgs, which decides and names what is wrong.
func stringArgs(raw map[string]any, names []string, dst ...*string) bool {
	for name, v := range raw {
		i := slices.Index(names, name)
		s, ok := v.(string)
		if i < 0 || !ok || !utf8.ValidString(s) {
			return false
		}
		*dst[i] = s
	}
	return true
}

func checkKey(key string) error {
	if key == "" || len(key) > maxKeyBytes || !utf8.ValidString(key) {
		return inputErrorf("argument key %s must be 1-%d bytes of UTF-8", quote(key), maxKeyBytes)
	}
	return nil
}

func structured(v any) *mcp.CallToolResult {
	b, _ := json.Marshal(v) // our own plain structs always marshal
	return mcp.NewToolResultStructured(v, string(b))
}

type whoamiResult struct {
	Arn            string `json:"arn"`
	Account        string `json:"account"`
	UserID         string `json:"userId"`
	SourceIdentity string `json:"sourceIdentity"`
	Tenant         string `json:"tenant"`
	Role           string `json:"role"`
	Bucket         string `json:"bucket"`
	SessionTags    []Tag  `json:"sessionTags"`
}

func (h *Handler) whoami(ctx context.Context, c *call, raw map[string]any) (*mcp.CallToolResult, error) {
	if err := decodeArgs(raw, &struct{}{}); err != nil {
		return nil, err
	}
	out, err := h.stsUser.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, c.stsCreds)
	if err != nil {
		return nil, &awsCallError{action: "sts:GetCallerIdentity", resource: "your session", err: err}
	}
	return structured(whoamiResult{Arn: aws.ToString(out.Arn), Account: aws.ToString(out.Account), UserID: aws.ToString(out.UserId),
		SourceIdentity: c.st.id.SourceIdentity, Tenant: c.st.id.Tenant, Role: c.st.id.RoleARN, Bucket: c.st.bucket, SessionTags: c.st.id.Tags}), nil
}

type objectInfo struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"lastModified"`
	ETag         string    `json:"etag,omitempty"`
}

type listResult struct {
	Bucket     string       `json:"bucket"`
	Prefix     string       `json:"prefix"`
	Objects    []objectInfo `json:"objects"`
	Truncated  bool         `json:"truncated"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

func (h *Handler) listObjects(ctx context.Context, c *call, raw map[string]any) (*mcp.CallToolResult, error) {
	var args struct {
		Prefix  string `json:"prefix"`
		Cursor  string `json:"cursor"`
		MaxKeys *int   `json:"max_keys"`
		Bucket  string `json:"bucket"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	maxKeys := defaultMaxKeys
	if args.MaxKeys != nil {
		if *args.MaxKeys < 1 || *args.MaxKeys > maxListMaxKeys {
			return nil, inputErrorf("argument max_keys %d must be from 1 to %d", *args.MaxKeys, maxListMaxKeys)
		}
		maxKeys = *args.MaxKeys
	}
	bucket, err := c.bucket(args.Bucket)
	if err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(int32(maxKeys))}
	if args.Prefix != "" {
		in.Prefix = aws.String(args.Prefix)
	}
	if args.Cursor != "" {
		in.ContinuationToken = aws.String(args.Cursor)
	}
	out, err := h.s3User.ListObjectsV2(ctx, in, c.s3Creds)
	if err != nil {
		return nil, &awsCallError{action: "s3:ListBucket", resource: "arn:aws:s3:::" + bucket, err: err}
	}
	res := listResult{Bucket: bucket, Prefix: args.Prefix, Objects: []objectInfo{}, Truncated: aws.ToBool(out.IsTruncated)}
	if res.Truncated {
		res.NextCursor = aws.ToString(out.NextContinuationToken)
		if res.NextCursor == "" {
			return nil, fmt.Errorf("s3:ListBucket on arn:aws:s3:::%s said the listing is truncated but gave no continuation token", bucket)
		}
	}
	for _, o := range out.Contents {
		res.Objects = append(res.Objects, objectInfo{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size),
			LastModified: aws.ToTime(o.LastModified).UTC(), ETag: strings.Trim(aws.ToString(o.ETag), `"`)})
	}
	return structured(res), nil
}

// getObjectArgs are get_object's arguments, in the order stringArgs fills them.
var getObjectArgs = []string{"key", "bucket"}

func (h *Handler) getObject(ctx context.Context, c *call, raw map[string]any) (*mcp.CallToolResult, error) {
	var args struct {
		Key    string `json:"key"`
		Bucket string `json:"bucket"`
	}
	if !stringArgs(raw, getObjectArgs, &args.Key, &args.Bucket) {
		args.Key, args.Bucket = "", ""
		if err := decodeArgs(raw, &args); err != nil {
			return nil, err
		}
	}
	if err := checkKey(args.Key); err != nil {
		return nil, err
	}
	bucket, err := c.bucket(args.Bucket)
	if err != nil {
		return nil, err
	}
	resource := "arn:aws:s3:::" + bucket + "/" + args.Key
	out, err := h.s3User.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(args.Key)}, c.s3Creds)
	if err != nil {
		return nil, &awsCallError{action: "s3:GetObject", resource: resource, err: err}
	}
	defer out.Body.Close()
	limit := h.cfg.maxObjectBytes
	if n := aws.ToInt64(out.ContentLength); n > limit {
		return nil, fmt.Errorf("object %s is %d bytes, over this server's %d-byte cap (--max-object-bytes)", resource, n, limit)
	}
	body, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, &awsCallError{action: "s3:GetObject", resource: resource, err: fmt.Errorf("reading the body: %w", err)}
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("object %s is over this server's %d-byte cap (--max-object-bytes)", resource, limit)
	}
	contentType := aws.ToString(out.ContentType)
	if isText(contentType, body) {
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(string(body))}}, nil
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewEmbeddedResource(mcp.BlobResourceContents{
		URI: "s3://" + bucket + "/" + args.Key, MIMEType: contentType, Blob: base64.StdEncoding.EncodeToString(body)})}}, nil
}

// isText decides whether an object is returned as text: valid UTF-8 without NUL or other
// control characters (tab, newline and carriage return aside), unless its Content-Type says it
// is an image, audio, video or font.
func isText(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		major, _, _ := strings.Cut(mt, "/")
		switch major {
		case "image", "audio", "video", "font":
			return false
		}
	}
	if !utf8.Valid(body) {
		return false
	}
	for _, b := range body {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' || b == 0x7f {
			return false
		}
	}
	return true
}

type putResult struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int    `json:"size"`
	ETag   string `json:"etag,omitempty"`
}

func (h *Handler) putObject(ctx context.Context, c *call, raw map[string]any) (*mcp.CallToolResult, error) {
	var args struct {
		Key         string `json:"key"`
		Content     string `json:"content"`
		Encoding    string `json:"encoding"`
		ContentType string `json:"content_type"`
		Bucket      string `json:"bucket"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	if err := checkKey(args.Key); err != nil {
		return nil, err
	}
	bucket, err := c.bucket(args.Bucket)
	if err != nil {
		return nil, err
	}
	var body []byte
	contentType := args.ContentType
	switch args.Encoding {
	case "", "text":
		body = []byte(args.Content)
		if contentType == "" {
			contentType = "text/plain; charset=utf-8"
		}
	case "base64":
		if body, err = base64.StdEncoding.DecodeString(args.Content); err != nil {
			return nil, inputErrorf("argument content is not valid base64: %v", err)
		}
		if contentType == "" {
			contentType = "application/octet-stream"
		}
	default:
		return nil, inputErrorf("argument encoding %q must be text or base64", args.Encoding)
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return nil, inputErrorf("argument content_type %q is not a media type: %v", contentType, err)
	}
	if int64(len(body)) > h.cfg.maxObjectBytes {
		return nil, inputErrorf("content is %d bytes, over this server's %d-byte cap (--max-object-bytes)", len(body), h.cfg.maxObjectBytes)
	}
	resource := "arn:aws:s3:::" + bucket + "/" + args.Key
	out, err := h.s3User.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(args.Key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(contentType)}, c.s3Creds)
	if err != nil {
		return nil, &awsCallError{action: "s3:PutObject", resource: resource, err: err}
	}
	return structured(putResult{Bucket: bucket, Key: args.Key, Size: len(body), ETag: strings.Trim(aws.ToString(out.ETag), `"`)}), nil
}
