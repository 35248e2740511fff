package s3

import (
	"net/http"
	"net/url"
	"strings"
)

// op is one S3 request, classified: which API operation it is, which IAM action it needs on
// which resource, and how CloudTrail records it.
type op struct {
	name     string // API operation, e.g. "GetObject" (CloudTrail eventName)
	action   string // IAM action, e.g. "s3:GetObject"; "" when the handler authorizes itself
	bucket   string
	key      string
	readOnly bool
	data     bool // a CloudTrail data event (object-level and listing), else management
	// custom says the emulator answers itself instead of forwarding to gofakes3.
	custom bool
	// unsupported names a subresource the emulator does not implement.
	unsupported string
}

// resource is the ARN the op acts on.
func (o *op) resource() string {
	switch {
	case o.bucket == "":
		return "*"
	case o.key == "":
		return bucketARN(o.bucket)
	}
	return objectARN(o.bucket, o.key)
}

func bucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func objectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// Subresources S3 has but the emulator does not implement: answered with NotImplemented
// rather than silently treated as a plain GET or PUT.
var unsupportedSubresources = []string{"acl", "accelerate", "analytics", "cors", "encryption",
	"intelligent-tiering", "inventory", "lifecycle", "logging", "metrics", "notification",
	"object-lock", "ownershipControls", "policyStatus", "publicAccessBlock", "replication",
	"requestPayment", "restore", "retention", "legal-hold", "select", "tagging", "torrent",
	"website", "attributes"}

// classify maps a path-style request (bucket and key already split) to its operation.
func classify(r *http.Request, bucket, key string) op {
	q := r.URL.Query()
	o := op{bucket: bucket, key: key}
	for _, sub := range unsupportedSubresources {
		if _, ok := q[sub]; ok {
			o.name, o.unsupported = r.Method+" ?"+sub, sub
			return o
		}
	}
	has := func(k string) bool { _, ok := q[k]; return ok }
	m := r.Method
	switch {
	case bucket == "":
		// "//key" names a key without a bucket: no operation, rather than ListBuckets.
		if key == "" && m == http.MethodGet {
			return op{name: "ListBuckets", action: "s3:ListAllMyBuckets", readOnly: true, custom: true}
		}
	case key == "":
		switch {
		case has("policy"):
			switch m {
			case http.MethodGet:
				return op{name: "GetBucketPolicy", action: "s3:GetBucketPolicy", bucket: bucket, readOnly: true, custom: true}
			case http.MethodPut:
				return op{name: "PutBucketPolicy", action: "s3:PutBucketPolicy", bucket: bucket, custom: true}
			case http.MethodDelete:
				return op{name: "DeleteBucketPolicy", action: "s3:DeleteBucketPolicy", bucket: bucket, custom: true}
			}
		case has("location") && m == http.MethodGet:
			return op{name: "GetBucketLocation", action: "s3:GetBucketLocation", bucket: bucket, readOnly: true}
		case has("versioning"):
			if m == http.MethodGet {
				return op{name: "GetBucketVersioning", action: "s3:GetBucketVersioning", bucket: bucket, readOnly: true}
			}
			if m == http.MethodPut {
				return op{name: "PutBucketVersioning", action: "s3:PutBucketVersioning", bucket: bucket}
			}
		case has("versions") && m == http.MethodGet:
			return op{name: "ListObjectVersions", action: "s3:ListBucketVersions", bucket: bucket, readOnly: true, data: true}
		case has("uploads") && m == http.MethodGet:
			return op{name: "ListMultipartUploads", action: "s3:ListBucketMultipartUploads", bucket: bucket, readOnly: true, data: true}
		case has("delete") && m == http.MethodPost:
			// Authorized per key (s3:DeleteObject), as S3 does.
			return op{name: "DeleteObjects", bucket: bucket, data: true, custom: true}
		case m == http.MethodGet:
			name := "ListObjects"
			if q.Get("list-type") == "2" {
				name = "ListObjectsV2"
			}
			return op{name: name, action: "s3:ListBucket", bucket: bucket, readOnly: true, data: true}
		case m == http.MethodHead:
			return op{name: "HeadBucket", action: "s3:ListBucket", bucket: bucket, readOnly: true}
		case m == http.MethodPut:
			return op{name: "CreateBucket", action: "s3:CreateBucket", bucket: bucket, custom: true}
		case m == http.MethodDelete:
			return op{name: "DeleteBucket", action: "s3:DeleteBucket", bucket: bucket, custom: true}
		case m == http.MethodPost:
			o.name, o.unsupported = "PostObject", "browser-based POST uploads"
			return o
		}
	default:
		switch {
		case has("uploads") && m == http.MethodPost:
			return op{name: "CreateMultipartUpload", action: "s3:PutObject", bucket: bucket, key: key, data: true}
		case has("uploadId"):
			switch m {
			case http.MethodPut:
				if r.Header.Get("x-amz-copy-source") != "" {
					return op{name: "UploadPartCopy", action: "s3:PutObject", bucket: bucket, key: key, data: true}
				}
				return op{name: "UploadPart", action: "s3:PutObject", bucket: bucket, key: key, data: true}
			case http.MethodPost:
				return op{name: "CompleteMultipartUpload", action: "s3:PutObject", bucket: bucket, key: key, data: true}
			case http.MethodDelete:
				return op{name: "AbortMultipartUpload", action: "s3:AbortMultipartUpload", bucket: bucket, key: key, data: true}
			case http.MethodGet:
				return op{name: "ListParts", action: "s3:ListMultipartUploadParts", bucket: bucket, key: key, readOnly: true, data: true}
			}
		case has("versionId"):
			switch m {
			case http.MethodGet:
				return op{name: "GetObject", action: "s3:GetObjectVersion", bucket: bucket, key: key, readOnly: true, data: true}
			case http.MethodHead:
				return op{name: "HeadObject", action: "s3:GetObjectVersion", bucket: bucket, key: key, readOnly: true, data: true}
			case http.MethodDelete:
				return op{name: "DeleteObject", action: "s3:DeleteObjectVersion", bucket: bucket, key: key, data: true}
			}
		case m == http.MethodGet:
			return op{name: "GetObject", action: "s3:GetObject", bucket: bucket, key: key, readOnly: true, data: true}
		case m == http.MethodHead:
			return op{name: "HeadObject", action: "s3:GetObject", bucket: bucket, key: key, readOnly: true, data: true}
		case m == http.MethodPut && r.Header.Get("x-amz-copy-source") != "":
			// Also needs s3:GetObject on the source, checked by the handler.
			return op{name: "CopyObject", action: "s3:PutObject", bucket: bucket, key: key, data: true}
		case m == http.MethodPut:
			return op{name: "PutObject", action: "s3:PutObject", bucket: bucket, key: key, data: true}
		case m == http.MethodDelete:
			return op{name: "DeleteObject", action: "s3:DeleteObject", bucket: bucket, key: key, data: true}
		}
	}
	o.name = m + " " + r.URL.Path
	return o
}

// copySource parses x-amz-copy-source: "[/]bucket/key[?versionId=…]", URL-encoded.
func copySource(h string) (bucket, key string, ok bool) {
	h, _, _ = strings.Cut(h, "?")
	h, err := url.PathUnescape(h)
	if err != nil {
		return "", "", false
	}
	h = strings.TrimPrefix(h, "/")
	bucket, key, ok = strings.Cut(h, "/")
	return bucket, key, ok && bucket != "" && key != ""
}

// pathStyle splits "/bucket/key…" into bucket and key.
func pathStyle(path string) (bucket, key string) {
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}
