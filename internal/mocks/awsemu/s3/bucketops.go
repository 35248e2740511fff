package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/johannesboyne/gofakes3"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

// MaxBucketPolicyBytes is S3's bucket policy size limit (20 KB).
const MaxBucketPolicyBytes = 20 * 1024

// field is an extra element of an S3 error document (BucketName, Key, …).
type field struct{ name, value string }

// WriteError writes S3's REST/XML error document. HEAD responses carry no body, as in S3.
func WriteError(w http.ResponseWriter, r *http.Request, requestID string, status int, code, message string, fields ...field) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", requestID)
	w.WriteHeader(status)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(message))
	b.WriteString("</Message>")
	for _, f := range fields {
		b.WriteString("<" + f.name + ">")
		_ = xml.EscapeText(&b, []byte(f.value))
		b.WriteString("</" + f.name + ">")
	}
	b.WriteString("<RequestId>")
	_ = xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</RequestId><HostId>mcpsso</HostId></Error>")
	_, _ = w.Write(b.Bytes())
}

// WriteSigV4Error renders an authentication failure (already worded for S3 by sigv4) with
// its extra fields, in the order S3 writes them.
func WriteSigV4Error(w http.ResponseWriter, r *http.Request, requestID string, status int, code, message string, extra map[string]string) {
	var fields []field
	for k, v := range extra {
		fields = append(fields, field{k, v})
	}
	rank := func(name string) int {
		if i := slices.Index(sigV4FieldOrder, name); i >= 0 {
			return i
		}
		return len(sigV4FieldOrder)
	}
	slices.SortFunc(fields, func(a, b field) int {
		if d := rank(a.name) - rank(b.name); d != 0 {
			return d
		}
		return strings.Compare(a.name, b.name)
	})
	WriteError(w, r, requestID, status, code, message, fields...)
}

// sigV4FieldOrder is the order of the extra elements in S3's authentication errors
// (SignatureDoesNotMatch: AWSAccessKeyId, StringToSign, SignatureProvided, StringToSignBytes,
// CanonicalRequest, CanonicalRequestBytes; AccessDenied "Request has expired": X-Amz-Expires,
// Expires, ServerTime).
var sigV4FieldOrder = []string{"AWSAccessKeyId", "StringToSign", "SignatureProvided", "StringToSignBytes",
	"CanonicalRequest", "CanonicalRequestBytes", "X-Amz-Expires", "Expires", "X-Amz-Date", "ServerTime"}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

type listAllMyBucketsResult struct {
	XMLName xml.Name `xml:"ListAllMyBucketsResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   struct {
		ID          string
		DisplayName string
	}
	Buckets struct {
		Bucket []struct {
			Name         string
			CreationDate string
		}
	}
}

// listBuckets lists the caller's own buckets: S3 never shows another account's.
func (x *exchange) listBuckets() {
	c := x.call.Caller
	if c == nil {
		x.fail(http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	if !x.authorize("s3:ListAllMyBuckets", "*", bucketMeta{}) {
		return
	}
	var res listAllMyBucketsResult
	res.Xmlns = s3XMLNS
	res.Owner.ID, res.Owner.DisplayName = canonicalID(c.Account), c.Account
	for _, b := range x.h.reg.owned(c.Account) {
		res.Buckets.Bucket = append(res.Buckets.Bucket, struct {
			Name         string
			CreationDate string
		}{b.Name, b.Created.UTC().Format("2006-01-02T15:04:05.000Z")})
	}
	x.out.Status = http.StatusOK
	writeXML(x.w, http.StatusOK, res)
}

func (x *exchange) createBucket() {
	c := x.call.Caller
	name := x.op.bucket
	if c == nil {
		x.fail(http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	if err := gofakes3.ValidateBucketName(name); err != nil {
		x.failWith(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", field{"BucketName", name})
		return
	}
	if code, msg, fields := x.checkLocation(); code != "" {
		x.failWith(http.StatusBadRequest, code, msg, fields...)
		return
	}
	if !x.authorize("s3:CreateBucket", bucketARN(name), bucketMeta{Owner: c.Account}) {
		return
	}
	if meta, exists := x.h.reg.get(name); exists {
		if meta.Owner == c.Account {
			x.failWith(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", field{"BucketName", name})
		} else {
			x.failWith(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", field{"BucketName", name})
		}
		return
	}
	if err := x.h.backend.CreateBucket(name); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		x.fail(http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if err := x.h.reg.add(bucketMeta{Name: name, Owner: c.Account, Created: x.h.now().UTC()}); err != nil {
		x.failWith(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available.", field{"BucketName", name})
		return
	}
	x.out.BucketOwner = c.Account
	x.w.Header().Set("Location", "/"+name)
	x.w.WriteHeader(http.StatusOK)
	x.out.Status = http.StatusOK
}

// checkLocation checks CreateBucketConfiguration as S3's us-east-1 regional endpoint does (the
// emulator's S3 has that one region): no LocationConstraint is us-east-1; naming us-east-1 is
// InvalidLocationConstraint; any other region is IllegalLocationConstraintException — each worded
// as AWS answers it (recorded). It returns the error code, message and fields, or "" when valid.
func (x *exchange) checkLocation() (code, msg string, fields []field) {
	body, err := io.ReadAll(io.LimitReader(x.r.Body, 64*1024))
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return "", "", nil
	}
	var cfg struct {
		LocationConstraint string
	}
	if err := xml.Unmarshal(body, &cfg); err != nil {
		return "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", nil
	}
	switch cfg.LocationConstraint {
	case "":
		return "", "", nil
	case Region:
		return "InvalidLocationConstraint", "The specified location-constraint is not valid", []field{{"LocationConstraint", cfg.LocationConstraint}}
	}
	return "IllegalLocationConstraintException", fmt.Sprintf("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", cfg.LocationConstraint), nil
}

func (x *exchange) deleteBucket() {
	if !x.authorize("s3:DeleteBucket", bucketARN(x.op.bucket), x.meta) {
		return
	}
	if err := x.h.backend.DeleteBucket(x.op.bucket); err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrBucketNotEmpty) {
			x.failWith(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty", field{"BucketName", x.op.bucket})
			return
		}
		if !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			x.fail(http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
	}
	if err := x.h.reg.remove(x.op.bucket); err != nil {
		x.fail(http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	x.w.WriteHeader(http.StatusNoContent)
	x.out.Status = http.StatusNoContent
}

// bucketPolicy serves Get/Put/DeleteBucketPolicy. Only the bucket owner's account may manage
// the policy: another account that some policy allows gets 405, as S3 answers.
func (x *exchange) bucketPolicy() {
	o := &x.op
	if !x.authorize(o.action, bucketARN(o.bucket), x.meta) {
		return
	}
	if x.call.Caller == nil || x.call.Caller.Account != x.meta.Owner {
		x.fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource: only the bucket owner's account may manage its policy.")
		return
	}
	switch o.name {
	case "GetBucketPolicy":
		if x.meta.Policy == "" {
			x.failWith(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist", field{"BucketName", o.bucket})
			return
		}
		x.w.Header().Set("Content-Type", "application/json")
		x.w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(x.w, x.meta.Policy)
		x.out.Status = http.StatusOK
	case "DeleteBucketPolicy":
		if err := x.h.reg.setPolicy(o.bucket, "", nil); err != nil {
			x.fail(http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		x.w.WriteHeader(http.StatusNoContent)
		x.out.Status = http.StatusNoContent
	case "PutBucketPolicy":
		doc, err := io.ReadAll(io.LimitReader(x.r.Body, MaxBucketPolicyBytes+1))
		if err != nil {
			x.fail(http.StatusBadRequest, "IncompleteBody", "could not read the policy: "+err.Error())
			return
		}
		if len(doc) > MaxBucketPolicyBytes {
			x.fail(http.StatusBadRequest, "PolicyTooLarge", fmt.Sprintf("Policies must be less than %d bytes", MaxBucketPolicyBytes))
			return
		}
		p, err := ParseBucketPolicy(o.bucket, doc)
		if err != nil {
			x.fail(http.StatusBadRequest, "MalformedPolicy", err.Error())
			return
		}
		if err := x.h.reg.setPolicy(o.bucket, string(doc), p); err != nil {
			x.fail(http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		x.w.WriteHeader(http.StatusNoContent)
		x.out.Status = http.StatusNoContent
	}
}

// ParseBucketPolicy validates a bucket policy as S3 does on PutBucketPolicy: valid policy
// grammar with a Principal, only S3 actions, and only resources of this bucket. The error is
// the message of S3's MalformedPolicy answer.
func ParseBucketPolicy(bucket string, doc []byte) (*iampolicy.Policy, error) {
	p, err := iampolicy.Parse(iampolicy.ResourcePolicy, "bucket policy of "+bucket, doc)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "MalformedPolicyDocument: "))
	}
	for _, a := range p.Actions() {
		if a != "*" && !strings.HasPrefix(a, "s3:") {
			//lint:ignore ST1005 S3's own MalformedPolicy message, word for word
			return nil, fmt.Errorf("Policy has invalid action: %s (a bucket policy may name only s3: actions)", a)
		}
	}
	for _, r := range p.Resources() {
		if !resourceCoversBucket(r, bucket) {
			//lint:ignore ST1005 S3's own MalformedPolicy message, word for word
			return nil, fmt.Errorf("Policy has invalid resource: %s (a policy of bucket %s may name only arn:aws:s3:::%s and objects under it)", r, bucket, bucket)
		}
	}
	return p, nil
}

// resourceCoversBucket reports whether a bucket-policy Resource can name this bucket or its
// objects: its bucket part, with wildcards and policy variables (which may take any value),
// matches the bucket name.
func resourceCoversBucket(resource, bucket string) bool {
	if resource == "*" {
		return true
	}
	rest, ok := strings.CutPrefix(resource, "arn:aws:s3:::")
	if !ok {
		return false
	}
	// Variables first: a key such as aws:PrincipalTag/tenant contains a slash.
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		rest = rest[:i] + "*" + rest[i+j+1:]
	}
	b, _, _ := strings.Cut(rest, "/")
	return wildMatch(b, bucket)
}

// wildMatch matches s against a pattern of literal characters, '*' and '?'.
func wildMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && wildMatch(pattern[1:], s[1:])
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name `xml:"DeleteResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Deleted []struct {
		Key string
	} `xml:"Deleted"`
	Errors []deleteError `xml:"Error"`
}

type deleteError struct {
	Key     string
	Code    string
	Message string
}

// deleteObjects authorizes s3:DeleteObject per key, as S3 does: keys the caller may not delete
// come back as AccessDenied entries, the others are deleted.
func (x *exchange) deleteObjects() {
	body, err := io.ReadAll(io.LimitReader(x.r.Body, 2<<20))
	if err != nil {
		x.fail(http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		x.fail(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		return
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		x.fail(http.StatusBadRequest, "MalformedXML", "A Delete request names between 1 and 1000 objects.")
		return
	}
	res := deleteResult{Xmlns: s3XMLNS}
	var allowed []string
	var last *iampolicy.Decision
	for _, obj := range req.Objects {
		action := "s3:DeleteObject"
		if obj.VersionID != "" {
			action = "s3:DeleteObjectVersion"
		}
		d := x.h.store.Authorize(x.call.Caller, x.request(action, objectARN(x.op.bucket, obj.Key)), x.meta.policy, x.meta.Owner)
		last = &d
		if !d.Allowed() {
			res.Errors = append(res.Errors, deleteError{Key: obj.Key, Code: "AccessDenied", Message: "Access Denied"})
			continue
		}
		allowed = append(allowed, obj.Key)
	}
	x.out.Decision = last
	if len(allowed) > 0 {
		mr, err := x.h.backend.DeleteMulti(x.op.bucket, allowed...)
		if err != nil {
			x.fail(http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		for _, d := range mr.Deleted {
			if !req.Quiet {
				res.Deleted = append(res.Deleted, struct{ Key string }{d.Key})
			}
		}
		for _, e := range mr.Error {
			res.Errors = append(res.Errors, deleteError{Key: e.Key, Code: string(e.Code), Message: e.Message})
		}
	}
	x.out.Status = http.StatusOK
	writeXML(x.w, http.StatusOK, res)
}
