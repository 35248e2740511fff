package enforce

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
)

// classifyS3 classifies r as the emulator's S3 does, after rewriting a virtual-hosted-style
// request ("<bucket>.s3.amazonaws.com") to its path-style form, which is what is relayed (the
// upstream is addressed by its own host name).
func classifyS3(r *http.Request) s3.Operation {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, base := range s3.DefaultHostBases {
		if b, ok := strings.CutSuffix(host, "."+base); ok && b != "" && !strings.Contains(b, ".") {
			r.URL.Path = strings.TrimSuffix("/"+b+"/"+strings.TrimPrefix(r.URL.Path, "/"), "/")
			r.URL.RawPath = ""
			break
		}
	}
	return s3.Classify(r)
}

// serveS3 authorizes an S3 request with the caller's identity policies and the bucket's
// policy (read from the upstream), then relays it.
func (p *Proxy) serveS3(w http.ResponseWriter, r *http.Request, call *iam.Call) {
	op := classifyS3(r)
	call.Trail.ReadOnly = op.ReadOnly
	params := map[string]string{}
	if op.Bucket != "" {
		params["bucketName"] = op.Bucket
		call.Trail.Resources = []cloudtrail.Resource{{AccountID: p.cfg.account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + op.Bucket}}
	}
	if op.Key != "" {
		params["key"] = op.Key
		call.Trail.Resources = append([]cloudtrail.Resource{{Type: "AWS::S3::Object", ARN: op.Resource}}, call.Trail.Resources...)
	}
	call.Trail.RequestParameters, _ = json.Marshal(params)
	fail := func(err error) {
		ae := awserr.As(err)
		p.record("s3", op.Name, call, ae.Code, ae.Message, &op)
		s3.WriteError(w, r, call.RequestID, ae.Status, ae.Code, ae.Message)
	}
	if op.Unsupported != "" || op.Action == "" {
		// Not classified (a subresource such as ?acl, or DeleteObjects, authorized per key):
		// only an allow-all identity passes, and bucket policies are not consulted for it.
		if err := call.Authorize(p.store, call.Request("s3:*", "*"), nil, ""); err != nil {
			fail(awserr.New(http.StatusForbidden, "AccessDenied", "the enforcing proxy does not authorize %s for callers other than the admin", op.Name))
			return
		}
	} else {
		if err := p.authorizeS3(r, call, &op, op.Action, op.Bucket, op.Resource); err != nil {
			fail(err)
			return
		}
		if op.CopySourceBucket != "" {
			src := "arn:aws:s3:::" + op.CopySourceBucket + "/" + op.CopySourceKey
			if err := p.authorizeS3(r, call, &op, "s3:GetObject", op.CopySourceBucket, src); err != nil {
				fail(err)
				return
			}
		}
	}
	if p.cfg.localPolicies && (op.Name == "PutBucketPolicy" || op.Name == "GetBucketPolicy" || op.Name == "DeleteBucketPolicy") {
		if err := p.serveLocalPolicy(w, r, &op); err != nil {
			fail(err)
			return
		}
		p.record("s3", op.Name, call, "", "", &op)
		return
	}
	status, _, code, msg := p.relay(w, r, nil, false)
	if status < 300 && (op.Name == "PutBucketPolicy" || op.Name == "DeleteBucketPolicy" || op.Name == "DeleteBucket") {
		p.invalidateBucket(op.Bucket)
		if op.Name == "DeleteBucket" {
			p.mu.Lock()
			delete(p.local, op.Bucket)
			p.mu.Unlock()
		}
	}
	p.record("s3", op.Name, call, code, msg, &op)
}

// localPolicy is a bucket policy the proxy keeps (WithLocalBucketPolicies).
type localPolicy struct {
	doc    string
	policy *iampolicy.Policy
}

// serveLocalPolicy answers Put/Get/DeleteBucketPolicy from the proxy's own policies, as S3
// would: the bucket must exist at the upstream, a new policy must validate, a missing one is
// NoSuchBucketPolicy.
func (p *Proxy) serveLocalPolicy(w http.ResponseWriter, r *http.Request, op *s3.Operation) error {
	if _, err := p.s3c.HeadBucket(r.Context(), &s3sdk.HeadBucketInput{Bucket: aws.String(op.Bucket)}); err != nil {
		if code := apiCode(err); code == "NotFound" || code == "NoSuchBucket" {
			return awserr.New(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		}
		return errUpstream("bucket "+op.Bucket, err)
	}
	p.mu.Lock()
	cur, ok := p.local[op.Bucket]
	p.mu.Unlock()
	switch op.Name {
	case "GetBucketPolicy":
		if !ok {
			return awserr.New(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, cur.doc)
		return nil
	case "DeleteBucketPolicy":
		p.mu.Lock()
		delete(p.local, op.Bucket)
		p.mu.Unlock()
	default: // PutBucketPolicy
		doc, err := io.ReadAll(io.LimitReader(r.Body, s3.MaxBucketPolicyBytes+1))
		if err != nil {
			return awserr.New(http.StatusBadRequest, "IncompleteBody", "could not read the policy: %v", err)
		}
		if len(doc) > s3.MaxBucketPolicyBytes {
			return awserr.New(http.StatusBadRequest, "PolicyTooLarge", "Policies must be less than %d bytes", s3.MaxBucketPolicyBytes)
		}
		pol, err := s3.ParseBucketPolicy(op.Bucket, doc)
		if err != nil {
			return awserr.New(http.StatusBadRequest, "MalformedPolicy", "%s", err.Error())
		}
		p.mu.Lock()
		p.local[op.Bucket] = localPolicy{doc: string(doc), policy: pol}
		p.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// authorizeS3 decides action on resource for the call's caller against bucket's policy, with
// the condition keys S3 supplies (as the emulator's S3 does).
func (p *Proxy) authorizeS3(r *http.Request, call *iam.Call, op *s3.Operation, action, bucket, resource string) error {
	var pol *iampolicy.Policy
	if bucket != "" && op.Name != "CreateBucket" {
		var err error
		if pol, err = p.bucketPolicy(r.Context(), bucket); err != nil {
			return err
		}
	}
	req := call.Request(action, resource)
	req.Context.Set("s3:authType", "REST-HEADER")
	if r.URL.Query().Has("X-Amz-Signature") {
		req.Context.Set("s3:authType", "REST-QUERY-STRING")
	}
	req.Context.Set("s3:signatureversion", "AWS4-HMAC-SHA256")
	if v := r.Header.Get("x-amz-content-sha256"); v != "" {
		req.Context.Set("s3:x-amz-content-sha256", v)
	}
	if bucket != "" {
		req.Context.Set("s3:ResourceAccount", p.cfg.account)
		req.Context.Set("aws:ResourceAccount", p.cfg.account)
	}
	q := r.URL.Query()
	if action == "s3:ListBucket" && op.Action == "s3:ListBucket" {
		req.Context.Set("s3:prefix", q.Get("prefix"))
		if q.Has("delimiter") {
			req.Context.Set("s3:delimiter", q.Get("delimiter"))
		}
		if q.Has("max-keys") {
			req.Context.Set("s3:max-keys", q.Get("max-keys"))
		}
	}
	for _, k := range []string{"x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
		"x-amz-storage-class", "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-website-redirect-location"} {
		if v := r.Header.Get(k); v != "" {
			req.Context.Set("s3:"+k, v)
		}
	}
	d := p.store.Authorize(call.Caller, req, pol, p.cfg.account)
	call.Decision = &d
	if d.Allowed() {
		return nil
	}
	c := call.Caller
	why := "because no identity-based policy allows the " + action + " action"
	if d.Decision == iampolicy.ExplicitDeny && len(d.Matched) > 0 {
		why = "with an explicit deny in an identity-based policy"
		if pol != nil && d.Matched[0].Policy == pol.Name() {
			why = "with an explicit deny in a resource-based policy"
		}
	}
	return awserr.New(http.StatusForbidden, "AccessDenied", "%s", fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %q %s", c.ARN, action, resource, why))
}
