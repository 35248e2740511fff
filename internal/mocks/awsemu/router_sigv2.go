package awsemu

import (
	"errors"
	"net/http"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

// serveSigV2 serves an S3 request presigned with Signature Version 2 (AWSAccessKeyId, Expires,
// Signature): verified like SigV4, enforced by the same policies, and answered with S3's error
// documents when it fails — such a request has no credential scope, but only S3 accepts it.
func (e *Emulator) serveSigV2(w http.ResponseWriter, r *http.Request, requestID string) {
	resource := r.URL.EscapedPath()
	if b := e.s3.BucketFromHost(r.Host); b != "" {
		resource = "/" + b + resource
	}
	res, err := e.verifier.VerifySigV2(r, resource)
	if err != nil {
		var se *sigv4.Error
		if !errors.As(err, &se) {
			e.writeError(w, r, "s3", requestID, awserr.As(err))
			return
		}
		e.log.Info("aws request rejected", "request_id", requestID, "service", "s3", "decision", "deny",
			"error_code", se.Code, "reason", se.Message, "source_ip", iam.SourceIP(r), "signature_version", 2)
		extra := map[string]string{}
		for _, f := range se.Fields {
			extra[f.Name] = f.Value
		}
		s3.WriteSigV4Error(w, r, requestID, se.StatusCode, se.Code, se.Message, extra)
		return
	}
	caller, err := e.store.Caller(res.AccessKeyID)
	if err != nil {
		e.writeError(w, r, "s3", requestID, awserr.As(err))
		return
	}
	call := iam.NewCall(r, requestID, DefaultRegion, e.now())
	call.Caller = caller
	e.serveS3(w, r, call, res)
}
