package s3

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/johannesboyne/gofakes3"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

// Where gofakes3's answers differ from S3's, the emulator reshapes them on the way out: error
// documents with S3's Message and fields, no x-amz-delete-marker header on a delete that created
// no marker, lower-case user metadata keys, the default Content-Type, the delete-marker headers
// of a GET behind a delete marker. Each is in the recorded-shape suite (shapes_test.go).

// Region is the emulator's one S3 region.
const Region = "us-east-1"

func signatureVersion(auth *sigv4.Result) string {
	if auth.SigV2 {
		return "AWS"
	}
	return "AWS4-HMAC-SHA256"
}

// validAccountID reports whether s is a 12-digit account ID, as x-amz-expected-bucket-owner must be.
func validAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

// s3Messages are S3's messages for the error codes gofakes3 answers without one (or with its own).
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
var s3Messages = map[string]string{
	"NoSuchKey":          "The specified key does not exist.",
	"NoSuchBucket":       "The specified bucket does not exist",
	"NoSuchVersion":      "The specified version does not exist.",
	"NoSuchUpload":       "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
	"InvalidRange":       "The requested range is not satisfiable",
	"PreconditionFailed": "At least one of the pre-conditions you specified did not hold",
	"BadDigest":          "The Content-MD5 you specified did not match what we received.",
	"InvalidPart":        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
	"EntityTooSmall":     "Your proposed upload is smaller than the minimum allowed object size.",
	"InvalidDigest":      "The Content-MD5 you specified is not valid.",
}

// shapeWriter sits between gofakes3 and the client for one forwarded request.
type shapeWriter struct {
	http.ResponseWriter
	x       *exchange
	status  int
	errBody *bytes.Buffer // a gofakes3 error document, re-rendered by finish
	started bool
}

func (s *shapeWriter) WriteHeader(status int) {
	if s.started || s.errBody != nil {
		return
	}
	s.status = status
	h := s.Header()
	o := &s.x.op
	switch {
	case status >= 400 && s.x.r.Method != http.MethodHead: // gofakes3 writes an XML error document next
		s.errBody = &bytes.Buffer{}
		return
	case o.name == "DeleteObject" && h.Get("x-amz-delete-marker") == "false":
		// S3 sends x-amz-delete-marker only about delete markers; a plain delete on a bucket
		// without versioning answers without it.
		h.Del("x-amz-delete-marker")
	case (o.name == "GetObject" || o.name == "HeadObject") && status < 300:
		for k, v := range h {
			// S3 stores user metadata keys in lower case; Go's header map keeps the canonical
			// form unless the key is set directly.
			if strings.HasPrefix(k, "X-Amz-Meta-") {
				delete(h, k)
				h[strings.ToLower(k)] = v
			}
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "binary/octet-stream") // S3's default for objects stored without one
		}
	case (o.name == "GetObject" || o.name == "HeadObject") && status == http.StatusNotFound && h.Get("x-amz-delete-marker") == "":
		s.x.markDeleteMarker(h)
	}
	s.started = true
	s.ResponseWriter.WriteHeader(status)
}

func (s *shapeWriter) Write(b []byte) (int, error) {
	if !s.started && s.errBody == nil {
		s.WriteHeader(http.StatusOK)
	}
	if s.errBody != nil {
		return s.errBody.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// finish sends the headers of an answer gofakes3 left implicit, and writes a buffered error document again in S3's shape: its code, S3's message and the
// fields S3 adds (Key for NoSuchKey, BucketName for NoSuchBucket).
func (s *shapeWriter) finish() {
	if !s.started && s.errBody == nil {
		s.WriteHeader(http.StatusOK) // a HEAD that gofakes3 answered without writing anything
	}
	if s.errBody == nil {
		return
	}
	var doc struct {
		Code    string
		Message string
	}
	_ = xml.Unmarshal(s.errBody.Bytes(), &doc)
	if doc.Code == "" {
		doc.Code = http.StatusText(s.status)
	}
	msg := s3Messages[doc.Code]
	if msg == "" {
		msg = doc.Message
	}
	var fields []field
	switch doc.Code {
	case "NoSuchKey":
		fields = append(fields, field{"Key", s.x.op.key})
		if s.x.op.name == "GetObject" || s.x.op.name == "HeadObject" {
			s.x.markDeleteMarker(s.Header())
		}
	case "NoSuchBucket":
		fields = append(fields, field{"BucketName", s.x.op.bucket})
	}
	s.started = true
	s.x.out.ErrorMessage = msg
	WriteError(s.ResponseWriter, s.x.r, s.x.call.RequestID, s.status, doc.Code, msg, fields...)
}

// markDeleteMarker adds x-amz-delete-marker: true and the marker's version ID when the key's
// current version is a delete marker: S3 answers a GET or HEAD of such a key with 404 and these
// headers ("Working with delete markers").
func (x *exchange) markDeleteMarker(h http.Header) {
	vb, ok := x.h.backend.(gofakes3.VersionedBackend)
	if !ok || x.r.URL.Query().Has("versionId") {
		return
	}
	prefix := gofakes3.NewPrefix(&x.op.key, nil)
	res, err := vb.ListBucketVersions(x.op.bucket, &prefix, &gofakes3.ListBucketVersionsPage{})
	if err != nil {
		return
	}
	for _, v := range res.Versions {
		if dm, ok := v.(*gofakes3.DeleteMarker); ok && dm.Key == x.op.key && dm.IsLatest {
			h.Set("x-amz-delete-marker", "true")
			h.Set("x-amz-version-id", string(dm.VersionID))
			return
		}
	}
}
