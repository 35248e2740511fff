package s3

import "net/http"

// Operation is an S3 request as the emulator classifies it, exported for other enforcement
// points (internal/mocks/awsemu/enforce) that authorize S3 requests they do not serve themselves.
type Operation struct {
	Name     string // API operation, e.g. "GetObject" (CloudTrail eventName)
	Action   string // IAM action, e.g. "s3:GetObject"; "" when S3 authorizes per key (DeleteObjects) or the operation is unknown
	Bucket   string
	Key      string
	Resource string // the ARN Action applies to
	ReadOnly bool
	Data     bool // a CloudTrail data event, else a management event
	// Unsupported names a subresource the emulator does not classify (acl, tagging, …).
	Unsupported string
	// CopySourceBucket and CopySourceKey are set for CopyObject and UploadPartCopy: S3 also
	// requires s3:GetObject on the source.
	CopySourceBucket, CopySourceKey string
}

// Classify maps a path-style S3 request ("/bucket/key") to its operation, exactly as the
// emulator's S3 handler does.
func Classify(r *http.Request) Operation {
	bucket, key := pathStyle(r.URL.Path)
	o := classify(r, bucket, key)
	out := Operation{Name: o.name, Action: o.action, Bucket: o.bucket, Key: o.key, Resource: o.resource(),
		ReadOnly: o.readOnly, Data: o.data, Unsupported: o.unsupported}
	if o.name == "CopyObject" || o.name == "UploadPartCopy" {
		out.CopySourceBucket, out.CopySourceKey, _ = copySource(r.Header.Get("x-amz-copy-source"))
	}
	return out
}
