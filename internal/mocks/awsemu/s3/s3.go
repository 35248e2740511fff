// Package s3 is the AWS emulator's S3: object semantics from gofakes3 (in memory, or on disk
// for `mcpsso aws serve --data`), with every request authorized first the way S3 does it —
// the caller's identity policies (capped by session policy and boundary), the bucket policy,
// explicit denies, same- versus cross-account rules — with the action, resource ARN and
// condition keys S3 supplies for each operation. gofakes3 does no authentication at all; here
// nothing reaches it that the policies do not allow.
package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/spf13/afero"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

// DefaultHostBases are the hosts under which "<bucket>.<base>" is a virtual-hosted-style
// request: AWS's own names, LocalStack's, and localhost.
var DefaultHostBases = []string{"s3.amazonaws.com", "s3.us-east-1.amazonaws.com",
	"s3.localhost.localstack.cloud", "localhost.localstack.cloud", "localhost"}

// Option configures the S3 handler.
type Option func(*settings) error

type settings struct {
	dataDir   string
	hostBases []string
	log       *slog.Logger
	now       func() time.Time
}

// WithDataDir keeps objects (as files under dir/objects) and bucket owners and policies
// (dir/buckets.json), so they survive restarts. Without it everything is in memory.
func WithDataDir(dir string) Option {
	return func(s *settings) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("s3: data directory %s: %w", dir, err)
		}
		s.dataDir = dir
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.log = l; return nil }
}

// WithClock sets the clock for object times.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error { s.now = now; return nil }
}

// Handler serves S3 requests that the emulator's router has authenticated (or found anonymous).
type Handler struct {
	store     *iam.Store
	backend   gofakes3.Backend
	fake      http.Handler
	reg       *registry
	hostBases []string
	log       *slog.Logger
	now       func() time.Time
}

type clock func() time.Time

func (c clock) Now() time.Time                  { return c() }
func (c clock) Since(t time.Time) time.Duration { return c().Sub(t) }

// New builds the S3 handler over the identity store.
func New(store *iam.Store, opts ...Option) (*Handler, error) {
	cfg := settings{hostBases: DefaultHostBases, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	h := &Handler{store: store, hostBases: cfg.hostBases, log: cfg.log, now: cfg.now}
	if cfg.dataDir == "" {
		h.backend = s3mem.New(s3mem.WithTimeSource(clock(cfg.now)))
		h.reg, _ = newRegistry("")
	} else {
		// Objects are plain files under DIR/objects/buckets/<bucket>/, so a developer can look
		// at them; their metadata sits beside them under DIR/objects/metadata/.
		objects := filepath.Join(cfg.dataDir, "objects")
		if err := os.MkdirAll(objects, 0o755); err != nil {
			return nil, fmt.Errorf("s3: data directory: %w", err)
		}
		fsBackend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), objects))
		if err != nil {
			return nil, fmt.Errorf("s3: open %s: %w", objects, err)
		}
		h.backend = fsBackend
		if h.reg, err = newRegistry(filepath.Join(cfg.dataDir, "buckets.json")); err != nil {
			return nil, err
		}
	}
	// Time skew and host-style buckets are the emulator's job (SigV4, Serve); gofakes3 must
	// never create buckets on its own.
	h.fake = gofakes3.New(h.backend, gofakes3.WithTimeSkewLimit(0), gofakes3.WithAutoBucket(false),
		gofakes3.WithIntegrityCheck(true), gofakes3.WithTimeSource(clock(cfg.now)), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	return h, nil
}

// Outcome is what the router needs to record and log one S3 request.
type Outcome struct {
	Operation         string
	Status            int
	ErrorCode         string
	ErrorMessage      string
	ReadOnly          bool
	Data              bool // a CloudTrail data event
	RequestParameters json.RawMessage
	Resources         []cloudtrail.Resource
	Decision          *iampolicy.Decision
	BucketOwner       string
}

// BucketFromHost returns the bucket of a virtual-hosted-style Host ("b.s3.amazonaws.com",
// "b.localhost:4566"), or "".
func (h *Handler) BucketFromHost(host string) string {
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	for _, base := range h.hostBases {
		if b, ok := strings.CutSuffix(host, "."+base); ok && b != "" && !strings.Contains(b, ".") {
			return b
		}
	}
	return ""
}

// Serve authorizes and answers one S3 request. call.Caller is nil for an anonymous request;
// auth is nil then too.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, call *iam.Call, auth *sigv4.Result) Outcome {
	if b := h.BucketFromHost(r.Host); b != "" {
		r.URL.Path = "/" + b + strings.TrimSuffix("/"+strings.TrimPrefix(r.URL.Path, "/"), "/")
		if r.URL.Path == "/"+b+"/" {
			r.URL.Path = "/" + b
		}
		r.URL.RawPath = ""
	}
	bucket, key := pathStyle(r.URL.Path)
	o := classify(r, bucket, key)
	x := &exchange{h: h, w: w, r: r, call: call, auth: auth, op: o}
	x.out = Outcome{Operation: o.name, ReadOnly: o.readOnly, Data: o.data}
	x.setTrail()
	x.serve()
	return x.out
}

// exchange is one request in flight.
type exchange struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	call *iam.Call
	auth *sigv4.Result
	op   op
	meta bucketMeta
	out  Outcome
}

func (x *exchange) serve() {
	o := &x.op
	switch {
	case o.unsupported != "":
		x.fail(http.StatusNotImplemented, "NotImplemented", fmt.Sprintf("The mcpsso emulator does not implement %s.", o.unsupported))
		return
	case o.action == "" && !o.custom:
		x.fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	if exp := x.r.Header.Get("x-amz-expected-bucket-owner"); exp != "" && !validAccountID(exp) {
		// AWS's words, recorded.
		x.fail(http.StatusBadRequest, "InvalidBucketOwnerAWSAccountID", "The value of the expected bucket owner parameter must be an AWS Account ID... ["+exp+"]")
		return
	}
	if o.bucket != "" && o.name != "CreateBucket" {
		meta, ok := x.h.reg.get(o.bucket)
		if !ok {
			x.failWith(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", field{"BucketName", o.bucket})
			return
		}
		x.meta, x.out.BucketOwner = meta, meta.Owner
		if o.name == "HeadBucket" {
			x.w.Header().Set("x-amz-bucket-region", Region) // also on a 403, as S3 sends it
		}
		if exp := x.r.Header.Get("x-amz-expected-bucket-owner"); exp != "" && exp != meta.Owner {
			x.fail(http.StatusForbidden, "AccessDenied", "Access Denied")
			return
		}
	}
	switch o.name {
	case "ListBuckets":
		x.listBuckets()
	case "CreateBucket":
		x.createBucket()
	case "DeleteBucket":
		x.deleteBucket()
	case "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy":
		x.bucketPolicy()
	case "DeleteObjects":
		x.deleteObjects()
	default:
		x.forward()
	}
}

// request builds the policy request for action on resource with the keys S3 supplies.
func (x *exchange) request(action, resource string) *iampolicy.Request {
	call := x.call
	req := call.Request(action, resource)
	h := x.r.Header
	authType := "REST-HEADER"
	if x.auth != nil && x.auth.Presigned {
		authType = "REST-QUERY-STRING"
	}
	if x.auth != nil && x.auth.Presigned && !x.auth.SigV2 { // SigV2 has no signing time
		req.Context.Set("s3:signatureAge", strconv.FormatInt(x.h.now().Sub(x.auth.SignedAt).Milliseconds(), 10))
	}
	if x.auth != nil {
		req.Context.Set("s3:authType", authType)
		req.Context.Set("s3:signatureversion", signatureVersion(x.auth))
		if v := h.Get("X-Amz-Content-Sha256"); v != "" { // canonical: looked up without allocating
			req.Context.Set("s3:x-amz-content-sha256", v)
		}
	}
	if x.meta.Owner != "" {
		req.Context.Set("s3:ResourceAccount", x.meta.Owner)
		req.Context.Set("aws:ResourceAccount", x.meta.Owner)
	}
	if x.op.action == "s3:ListBucket" && action == "s3:ListBucket" {
		q := x.r.URL.Query()
		// S3 supplies s3:prefix (and the others) even when empty, so that policies can
		// require a prefix.
		req.Context.Set("s3:prefix", q.Get("prefix"))
		if q.Has("delimiter") {
			req.Context.Set("s3:delimiter", q.Get("delimiter"))
		}
		if q.Has("max-keys") {
			req.Context.Set("s3:max-keys", q.Get("max-keys"))
		}
	}
	for _, k := range conditionHeaders {
		if v := h.Get(k.header); v != "" {
			req.Context.Set(k.key, v)
		}
	}
	return req
}

// authorize decides action on resource against the caller's policies and the bucket policy
// of meta (the bucket acted on), and answers AccessDenied when it is not allowed.
func (x *exchange) authorize(action, resource string, meta bucketMeta) bool {
	req := x.request(action, resource)
	d := x.h.store.Authorize(x.call.Caller, req, meta.policy, meta.Owner)
	x.out.Decision = &d
	if d.Allowed() {
		return true
	}
	x.fail(http.StatusForbidden, "AccessDenied", x.deniedMessage(action, resource, meta, d))
	return false
}

// deniedMessage words a denial as S3 does: since 2024 S3 explains same-account denials; to
// anonymous and cross-account callers it says only "Access Denied".
func (x *exchange) deniedMessage(action, resource string, meta bucketMeta, d iampolicy.Decision) string {
	c := x.call.Caller
	if c == nil || (meta.Owner != "" && c.Account != meta.Owner) {
		return "Access Denied"
	}
	why := "because no identity-based policy allows the " + action + " action"
	if d.Decision == iampolicy.ExplicitDeny && len(d.Matched) > 0 {
		why = "with an explicit deny in an identity-based policy"
		if meta.policy != nil && d.Matched[0].Policy == meta.policy.Name() {
			why = "with an explicit deny in a resource-based policy"
		}
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %q %s", c.ARN, action, resource, why)
}

// forward authorizes the operation and lets gofakes3 carry it out.
func (x *exchange) forward() {
	o := &x.op
	if !x.authorize(o.action, o.resource(), x.meta) {
		return
	}
	if o.name == "CopyObject" || o.name == "UploadPartCopy" {
		sb, sk, ok := copySource(x.r.Header.Get("x-amz-copy-source"))
		if !ok {
			x.fail(http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
			return
		}
		src, exists := x.h.reg.get(sb)
		if !exists {
			x.failWith(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", field{"BucketName", sb})
			return
		}
		if !x.authorize("s3:GetObject", objectARN(sb, sk), src) {
			return
		}
	}
	if (o.name == "GetObject" || o.name == "HeadObject") && o.action == "s3:GetObject" {
		if _, err := x.h.backend.HeadObject(o.bucket, o.key); gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			// S3 says NoSuchKey only to callers who may list the bucket; others learn
			// nothing about which keys exist.
			if !x.authorize("s3:ListBucket", bucketARN(o.bucket), x.meta) {
				return
			}
		}
	}
	sw := &shapeWriter{ResponseWriter: x.w, x: x}
	cw := &captureWriter{ResponseWriter: sw, status: http.StatusOK}
	x.h.fake.ServeHTTP(cw, x.r)
	x.out.Status = cw.status
	if cw.status >= 300 {
		x.out.ErrorCode, x.out.ErrorMessage = cw.errorCode()
	}
	sw.finish()
}

// fail writes an S3 error and records it in the outcome.
func (x *exchange) fail(status int, code, message string) { x.failWith(status, code, message) }

func (x *exchange) failWith(status int, code, message string, fields ...field) {
	x.out.Status, x.out.ErrorCode, x.out.ErrorMessage = status, code, message
	WriteError(x.w, x.r, x.call.RequestID, status, code, message, fields...)
}

// conditionHeaders are the request headers S3 supplies as condition keys (s3:<header name>),
// with the header names in canonical form, which http.Header.Get looks up without allocating.
var conditionHeaders = func() []struct{ key, header string } {
	var out []struct{ key, header string }
	for _, k := range []string{"x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
		"x-amz-storage-class", "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-website-redirect-location"} {
		out = append(out, struct{ key, header string }{"s3:" + k, http.CanonicalHeaderKey(k)})
	}
	return out
}()

func (x *exchange) setTrail() {
	o := &x.op
	x.out.RequestParameters = requestParameters(x.r, o.bucket, o.key)
	if o.key != "" {
		x.out.Resources = append(x.out.Resources, cloudtrail.Resource{Type: "AWS::S3::Object", ARN: objectARN(o.bucket, o.key)})
	}
	if o.bucket != "" {
		if meta, ok := x.h.reg.get(o.bucket); ok {
			x.out.Resources = append(x.out.Resources, cloudtrail.Resource{AccountID: meta.Owner, Type: "AWS::S3::Bucket", ARN: bucketARN(o.bucket)})
		}
	}
}

// trailQueryParameters are the query parameters an S3 record's requestParameters carry, in
// the order json.Marshal writes a map's keys (after Host, bucketName; key between delimiter
// and list-type).
var trailQueryParameters = []string{"delimiter", "list-type", "max-keys", "prefix", "uploadId", "versionId"}

// requestParameters is an S3 record's requestParameters: the JSON object json.Marshal writes
// for the map {Host, bucketName, key, and the query parameters above that are set}, written
// without building the map (every request is recorded).
func requestParameters(r *http.Request, bucket, key string) json.RawMessage {
	b := make([]byte, 0, 64+len(r.Host)+len(bucket)+len(key))
	b = append(b, `{"Host":`...)
	b = cloudtrail.AppendJSONString(b, r.Host)
	if bucket != "" {
		b = append(b, `,"bucketName":`...)
		b = cloudtrail.AppendJSONString(b, bucket)
	}
	var q url.Values
	if r.URL.RawQuery != "" {
		q = r.URL.Query() // once, not per parameter
	}
	keyWritten := key == ""
	for _, k := range trailQueryParameters {
		if !keyWritten && k > "key" {
			b = append(b, `,"key":`...)
			b = cloudtrail.AppendJSONString(b, key)
			keyWritten = true
		}
		if v := q.Get(k); v != "" {
			b = append(b, ',')
			b = cloudtrail.AppendJSONString(b, k)
			b = append(b, ':')
			b = cloudtrail.AppendJSONString(b, v)
		}
	}
	if !keyWritten {
		b = append(b, `,"key":`...)
		b = cloudtrail.AppendJSONString(b, key)
	}
	return append(b, '}')
}

// captureWriter remembers the status and the start of an error body, for CloudTrail.
type captureWriter struct {
	http.ResponseWriter
	status int
	head   []byte
	wrote  bool
}

func (c *captureWriter) WriteHeader(status int) {
	if !c.wrote {
		c.status, c.wrote = status, true
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.wrote = true
	if c.status >= 300 && len(c.head) < 1024 {
		c.head = append(c.head, b[:min(len(b), 1024-len(c.head))]...)
	}
	return c.ResponseWriter.Write(b)
}

// ReadFrom lets io.Copy (gofakes3 copies an object's body with it) hand a successful body to
// the ResponseWriter's own ReadFrom, as it would without the capture: net/http's copies through
// a pooled buffer. Otherwise the copy goes through Write with a pooled buffer, not a new 32 KiB
// one per response.
func (c *captureWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok && c.status < 300 {
		c.wrote = true
		return rf.ReadFrom(r)
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(writeOnly{c}, r, *bp)
}

// writeOnly hides its writer's ReadFrom, so that io.CopyBuffer uses the buffer it is given.
type writeOnly struct{ io.Writer }

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

var (
	codeRe    = regexp.MustCompile(`<Code>([^<]*)</Code>`)
	messageRe = regexp.MustCompile(`<Message>([^<]*)</Message>`)
)

func (c *captureWriter) errorCode() (code, message string) {
	if m := codeRe.FindSubmatch(c.head); m != nil {
		code = string(m[1])
	} else {
		code = http.StatusText(c.status)
	}
	if m := messageRe.FindSubmatch(c.head); m != nil {
		message = string(m[1])
	}
	return code, message
}

// canonicalID is the account's S3 canonical user ID (64 hex characters).
func canonicalID(account string) string {
	sum := sha256.Sum256([]byte("mcpsso-canonical:" + account))
	return hex.EncodeToString(sum[:])
}
