package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Payload hash literals a client may sign instead of the body's SHA-256.
const (
	UnsignedPayload                 = "UNSIGNED-PAYLOAD"
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	StreamingSignedPayload          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedPayloadTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingECDSAPayload           = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSAPayloadTrailer    = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"

	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// s3EagerCheckBytes: S3 bodies up to this size are hashed inside Verify;
	// larger ones are hashed as the handler reads them.
	s3EagerCheckBytes = 1 << 20
)

// payloadPlan is the payload hash to sign with and what to check about the
// body once the signature has verified.
type payloadPlan struct {
	hash     string
	declared string // hex x-amz-content-sha256 to hold the body to; "" for none
	bodyHash string // already computed, when the body was buffered
}

// payload decides the payload hash. An x-amz-content-sha256 header (or, for
// presigned requests, query parameter) is signed as is. Otherwise S3
// presigned requests sign UNSIGNED-PAYLOAD and every other service signs
// the body's SHA-256.
func (v *Verifier) payload(r *http.Request, presigned bool, svc string, signed []string, query url.Values) (payloadPlan, *Error) {
	s3 := svc == "s3"
	declared := r.Header.Get(headerContentSHA)
	if declared != "" && !presigned && !slices.Contains(signed, "x-amz-content-sha256") && s3 {
		return payloadPlan{}, errMissingContentSHA(svc, "header 'x-amz-content-sha256' must be included in signature")
	}
	if declared == "" && presigned {
		declared = queryValue(query, queryContentSHA)
	}
	switch {
	case declared == "" && s3 && !presigned:
		return payloadPlan{}, errMissingContentSHA(svc, "Missing required header for this request: x-amz-content-sha256")
	case declared == "" && s3:
		return payloadPlan{hash: UnsignedPayload}, nil
	case declared == UnsignedPayload, declared == StreamingUnsignedPayloadTrailer:
		// The body is not covered; aws-chunked decoding of the trailer
		// variant is the S3 handler's job.
		return payloadPlan{hash: declared}, nil
	case declared == StreamingSignedPayload, declared == StreamingSignedPayloadTrailer,
		declared == streamingECDSAPayload, declared == streamingECDSAPayloadTrailer:
		return payloadPlan{}, errNotImplemented(svc, "x-amz-content-sha256", declared)
	case declared != "" && !isHexSHA256(declared):
		return payloadPlan{}, errInvalidContentSHA(svc)
	}
	pl := payloadPlan{hash: strings.ToLower(declared), declared: strings.ToLower(declared)}
	if s3 && (r.ContentLength < 0 || r.ContentLength > s3EagerCheckBytes) {
		return pl, nil // hashed while the handler streams it (check)
	}
	sum, err := v.bufferBody(r, svc)
	if err != nil {
		return payloadPlan{}, err
	}
	pl.bodyHash = sum
	if declared == "" {
		pl.hash = sum
	}
	return pl, nil
}

// check holds the body to the declared hash, after the signature verified.
func (pl payloadPlan) check(r *http.Request, svc string) *Error {
	switch {
	case pl.declared == "":
		return nil
	case pl.bodyHash != "":
		if pl.bodyHash != pl.declared {
			return errContentMismatch(svc, pl.declared, pl.bodyHash)
		}
		return nil
	}
	r.Body = &hashingBody{rc: r.Body, h: sha256.New(), want: pl.declared, svc: svc}
	return nil
}

// bufferBody reads the body (up to the limit), puts it back for the
// handler, and returns its hex SHA-256.
func (v *Verifier) bufferBody(r *http.Request, svc string) (string, *Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	if r.ContentLength > v.maxBody {
		return "", errBodyTooLarge(svc, v.maxBody)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
	_ = r.Body.Close()
	if err != nil {
		return "", errInternal(svc, err)
	}
	if int64(len(b)) > v.maxBody {
		return "", errBodyTooLarge(svc, v.maxBody)
	}
	r.Body = &BufferedBody{b: b}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// BufferedBody is a request body Verify has read to hash it, put back for the handler. A
// handler that wants the whole body takes it with TakeBytes instead of copying it by reading.
type BufferedBody struct{ b []byte }

func (r *BufferedBody) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TakeBytes returns what has not been read yet, as reading it to the end would, and leaves
// nothing to read. The bytes are the caller's.
func (r *BufferedBody) TakeBytes() []byte {
	b := r.b
	r.b = nil
	return b
}

// Close does nothing: the request's own body was closed when it was read.
func (r *BufferedBody) Close() error { return nil }

// hashingBody hashes the body as the handler reads it and, at EOF, turns a
// mismatch with the declared x-amz-content-sha256 into an *Error.
type hashingBody struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
	svc  string
	err  error
}

func (b *hashingBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(b.h.Sum(nil)); got != b.want {
			b.err = errContentMismatch(b.svc, b.want, got)
			return n, b.err
		}
		b.err = io.EOF
	}
	return n, err
}

func (b *hashingBody) Close() error { return b.rc.Close() }

// CheckContentSHA256 reads r's whole body, puts it back, and reports an
// *Error of KindContentSHA256Mismatch if it does not hash to the hex
// x-amz-content-sha256 header. Literal payload modes and a missing header
// pass. An S3 handler that wants the check up front, rather than at the end
// of its read, calls this after Verify.
func CheckContentSHA256(r *http.Request) error {
	want := strings.ToLower(r.Header.Get(headerContentSHA))
	if !isHexSHA256(want) {
		return nil
	}
	var buf bytes.Buffer
	h := sha256.New()
	if r.Body != nil {
		_, err := io.Copy(io.MultiWriter(&buf, h), r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(&buf)
		if err != nil {
			return err
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return errContentMismatch("s3", want, got)
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
