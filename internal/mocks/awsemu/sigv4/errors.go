package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies an authentication failure independently of how a given
// service words it. Callers branch on Kind; they render Code, Message and
// StatusCode.
type Kind uint8

// The failure kinds Verify reports.
const (
	// KindMissingAuthentication: the request carries no SigV4 material at
	// all. For S3 this is an anonymous request, which the caller may serve
	// under the bucket policy; see IsAnonymous.
	KindMissingAuthentication Kind = iota + 1
	// KindIncompleteSignature: the Authorization header or the presigning
	// query parameters are malformed or incomplete.
	KindIncompleteSignature
	// KindUnsupportedAuthentication: a scheme other than AWS4-HMAC-SHA256
	// (SigV2, SigV4a), or both the header and the query form at once.
	KindUnsupportedAuthentication
	// KindInvalidAccessKeyID: the store does not know the access key, or a
	// temporary key arrived without its session token.
	KindInvalidAccessKeyID
	// KindInvalidToken: the session token does not belong to the access key
	// (wrong token, or a token sent with a long-term key).
	KindInvalidToken
	// KindExpiredToken: the access key's session has expired.
	KindExpiredToken
	// KindSignatureMismatch: the recomputed signature differs.
	KindSignatureMismatch
	// KindRequestTimeTooSkewed: the signing time is more than the allowed
	// skew away from the verifier's clock (header form, and presigned
	// requests to services other than S3, which ignore X-Amz-Expires).
	KindRequestTimeTooSkewed
	// KindCredentialDateMismatch: the credential scope's date is not the
	// date of X-Amz-Date.
	KindCredentialDateMismatch
	// KindRequestExpired: an S3 presigned URL is past X-Amz-Date+X-Amz-Expires.
	KindRequestExpired
	// KindRequestNotYetValid: an S3 presigned URL is dated in the future.
	KindRequestNotYetValid
	// KindMissingContentSHA256: S3 header-form request without a signed
	// x-amz-content-sha256 header.
	KindMissingContentSHA256
	// KindInvalidContentSHA256: x-amz-content-sha256 is neither a hex SHA-256
	// nor one of the literal payload modes.
	KindInvalidContentSHA256
	// KindContentSHA256Mismatch: the body does not hash to the declared
	// x-amz-content-sha256.
	KindContentSHA256Mismatch
	// KindUnsignedHeaders: S3 requires every x-amz-* header to be signed.
	KindUnsignedHeaders
	// KindNotImplemented: a payload mode this verifier does not verify
	// (signed aws-chunked streaming).
	KindNotImplemented
	// KindBodyTooLarge: the body exceeds the verifier's buffering limit.
	KindBodyTooLarge
	// KindWrongRegion and KindWrongService come from Result.CheckScope.
	KindWrongRegion
	KindWrongService
	// KindInternal: the credential store failed.
	KindInternal
)

var kindNames = [...]string{
	KindMissingAuthentication:     "MissingAuthentication",
	KindIncompleteSignature:       "IncompleteSignature",
	KindUnsupportedAuthentication: "UnsupportedAuthentication",
	KindInvalidAccessKeyID:        "InvalidAccessKeyID",
	KindInvalidToken:              "InvalidToken",
	KindExpiredToken:              "ExpiredToken",
	KindSignatureMismatch:         "SignatureMismatch",
	KindRequestTimeTooSkewed:      "RequestTimeTooSkewed",
	KindCredentialDateMismatch:    "CredentialDateMismatch",
	KindRequestExpired:            "RequestExpired",
	KindRequestNotYetValid:        "RequestNotYetValid",
	KindMissingContentSHA256:      "MissingContentSHA256",
	KindInvalidContentSHA256:      "InvalidContentSHA256",
	KindContentSHA256Mismatch:     "ContentSHA256Mismatch",
	KindUnsignedHeaders:           "UnsignedHeaders",
	KindNotImplemented:            "NotImplemented",
	KindBodyTooLarge:              "BodyTooLarge",
	KindWrongRegion:               "WrongRegion",
	KindWrongService:              "WrongService",
	KindInternal:                  "Internal",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Field is an extra element of an S3 error document (RequestTime,
// ServerTime, StringToSign, ...), in the order S3 writes them.
type Field struct{ Name, Value string }

// Error is an authentication failure worded the way the AWS service named
// by Service words it. Verify shapes it for the credential scope's service
// (or the Query wording used by STS and IAM when there is no scope); use
// ForService to reword it for the service the caller routed to.
type Error struct {
	Kind       Kind
	Service    string // the service Code/Message/StatusCode are worded for
	Code       string
	Message    string
	StatusCode int
	// Fields are the extra elements S3 puts in its error document; empty
	// for other services.
	Fields []Field
	// CanonicalRequest and StringToSign are what the verifier computed, set
	// on KindSignatureMismatch so a developer can diff them against the
	// client's (S3 returns them too). Never needed to decide anything.
	CanonicalRequest string
	StringToSign     string
	// Err is the underlying cause, e.g. the credential store's error.
	Err error

	query, json, s3 wording
	s3Fields        []Field
}

// wording is one protocol's rendering of a failure.
type wording struct {
	code   string
	msg    string
	status int
}

func (e *Error) Error() string {
	s := "sigv4: " + e.Code + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ForService returns a copy of e worded for service ("s3", "sts", "iam",
// "cloudtrail", ...). The emulator uses it when it routes a request to a
// service other than the one in the credential scope, or when the request
// had no parsable scope at all.
func (e *Error) ForService(service string) *Error {
	c := *e
	c.Service = service
	w := e.query
	c.Fields = nil
	switch protocolOf(service) {
	case protoS3:
		w = e.s3
		c.Fields = e.s3Fields
	case protoJSON:
		w = e.json
	}
	c.Code, c.Message, c.StatusCode = w.code, w.msg, w.status
	return &c
}

// IsAnonymous reports whether err says the request carried no SigV4
// material at all. S3 serves such requests as anonymous under the bucket
// policy; every other service answers MissingAuthenticationToken.
func IsAnonymous(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindMissingAuthentication
}

type protocol uint8

const (
	protoQuery protocol = iota // STS, IAM: <ErrorResponse><Error><Code>
	protoJSON                  // CloudTrail (awsJson1_1): {"__type": ...}
	protoS3                    // S3 REST-XML: <Error><Code>
)

// protocolOf decides which wording a service uses. Everything not listed is
// treated as a Query service, which is what STS and IAM are.
func protocolOf(service string) protocol {
	switch service {
	case "s3":
		return protoS3
	case "cloudtrail":
		return protoJSON
	}
	return protoQuery
}

// Wordings. Sources (also summarised in the package doc):
//   - Query codes and statuses: the "Common Errors" pages of the AWS API
//     references (IncompleteSignature 400, InvalidClientTokenId 403,
//     MissingAuthenticationToken 403) and responses quoted in public issues:
//     STS MissingAuthenticationToken 403 "Request is missing Authentication
//     Token" (cert-manager/aws-privateca-issuer#40); InvalidClientTokenId 403
//     "The security token included in the request is invalid." (apache/hadoop
//     #6544); IAM ExpiredToken 403 (cfn-sphere/cfn-sphere#55); STS clock skew
//     is SignatureDoesNotMatch "Signature expired: ... (... - 15 min.)", not
//     the documented RequestExpired (aws/aws-cli#6676, devsecops/bootcamp#101).
//   - JSON services (awsJson1_1, CloudTrail among them) answer 400 with the
//     *Exception codes: UnrecognizedClientException, InvalidSignatureException
//     (aws/aws-sdk-js#254), IncompleteSignatureException, ExpiredTokenException.
//   - S3: the S3 error-code list and responses quoted in public issues
//     (RequestTimeTooSkewed 403 with MaxAllowedSkewMilliseconds 900000,
//     aws/aws-sdk-php#612; AccessDenied "Request has expired",
//     aws/aws-sdk-js#3493; InvalidToken 400; ExpiredToken 400 "The provided
//     token has expired.", aws/aws-sdk-js#1099; XAmzContentSHA256Mismatch 400;
//     InvalidRequest "Missing required header for this request:
//     x-amz-content-sha256", aws/aws-cli#2138).

const (
	msgQueryMissing   = "Request is missing Authentication Token"
	msgQueryBadToken  = "The security token included in the request is invalid."
	msgQueryExpired   = "The security token included in the request is expired"
	msgQueryMismatch  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgS3Mismatch     = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgS3BadKey       = "The AWS Access Key Id you provided does not exist in our records."
	msgS3BadToken     = "The provided token is malformed or otherwise invalid."
	msgS3Expired      = "The provided token has expired."
	msgS3Skewed       = "The difference between the request time and the current time is too large."
	msgS3HeaderBroken = "The authorization header is malformed; "
	msgS3NoDate       = "AWS authentication requires a valid Date or x-amz-date header"
)

// jsonOf derives the awsJson wording from the Query one: same message,
// *Exception code, status 400.
func jsonOf(q wording) wording {
	switch q.code {
	case "InvalidClientTokenId":
		return wording{"UnrecognizedClientException", q.msg, http.StatusBadRequest}
	case "SignatureDoesNotMatch":
		return wording{"InvalidSignatureException", q.msg, http.StatusBadRequest}
	case "MissingAuthenticationToken", "IncompleteSignature", "ExpiredToken":
		return wording{q.code + "Exception", q.msg, http.StatusBadRequest}
	}
	return q
}

// newError builds an Error with all three wordings, shaped for service.
func newError(kind Kind, service string, q, s3 wording, s3Fields ...Field) *Error {
	e := &Error{Kind: kind, query: q, json: jsonOf(q), s3: s3, s3Fields: s3Fields}
	return e.ForService(service)
}

func errMissingAuth(service string) *Error {
	return newError(KindMissingAuthentication, service,
		wording{"MissingAuthenticationToken", msgQueryMissing, http.StatusForbidden},
		wording{"AccessDenied", "Access Denied", http.StatusForbidden})
}

// errIncomplete reports a malformed Authorization header. s3msg follows
// "The authorization header is malformed; ".
func errIncomplete(service, queryMsg, s3msg string) *Error {
	return newError(KindIncompleteSignature, service,
		wording{"IncompleteSignature", queryMsg, http.StatusBadRequest},
		wording{"AuthorizationHeaderMalformed", msgS3HeaderBroken + s3msg, http.StatusBadRequest})
}

// errIncompleteQuery reports malformed presigning parameters.
func errIncompleteQuery(service, queryMsg, s3msg string) *Error {
	return newError(KindIncompleteSignature, service,
		wording{"IncompleteSignature", queryMsg, http.StatusBadRequest},
		wording{"AuthorizationQueryParametersError", s3msg, http.StatusBadRequest})
}

// errNoDate: S3 answers a header-form request without a usable date with
// AccessDenied, the Query services with IncompleteSignature.
func errNoDate(service, queryMsg string) *Error {
	return newError(KindIncompleteSignature, service,
		wording{"IncompleteSignature", queryMsg, http.StatusBadRequest},
		wording{"AccessDenied", msgS3NoDate, http.StatusForbidden})
}

func errUnsupported(service, queryMsg, s3msg string) *Error {
	return newError(KindUnsupportedAuthentication, service,
		wording{"IncompleteSignature", queryMsg, http.StatusBadRequest},
		wording{"InvalidRequest", s3msg, http.StatusBadRequest})
}

func errUnknownKey(service, akid string, cause error) *Error {
	e := newError(KindInvalidAccessKeyID, service,
		wording{"InvalidClientTokenId", msgQueryBadToken, http.StatusForbidden},
		wording{"InvalidAccessKeyId", msgS3BadKey, http.StatusForbidden},
		Field{"AWSAccessKeyId", akid})
	e.Err = cause
	return e
}

func errBadToken(service string) *Error {
	return newError(KindInvalidToken, service,
		wording{"InvalidClientTokenId", msgQueryBadToken, http.StatusForbidden},
		wording{"InvalidToken", msgS3BadToken, http.StatusBadRequest})
}

func errExpiredToken(service string) *Error {
	return newError(KindExpiredToken, service,
		wording{"ExpiredToken", msgQueryExpired, http.StatusForbidden},
		wording{"ExpiredToken", msgS3Expired, http.StatusBadRequest})
}

func errMismatch(service, akid, provided string) *Error {
	return newError(KindSignatureMismatch, service,
		wording{"SignatureDoesNotMatch", msgQueryMismatch, http.StatusForbidden},
		wording{"SignatureDoesNotMatch", msgS3Mismatch, http.StatusForbidden},
		Field{"AWSAccessKeyId", akid}, Field{"SignatureProvided", provided})
}

// errSkewed words a signing time outside now±skew. The Query message is the
// one STS and IAM send, e.g. "Signature expired: 20220127T001427Z is now
// earlier than 20220127T014428Z (20220127T015928Z - 15 min.)".
func errSkewed(service string, signedAt, now time.Time, skew time.Duration) *Error {
	var msg string
	mins := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	if signedAt.Before(now) {
		msg = fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s min.)",
			amzTime(signedAt), amzTime(now.Add(-skew)), amzTime(now), mins)
	} else {
		msg = fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s min.)",
			amzTime(signedAt), amzTime(now.Add(skew)), amzTime(now), mins)
	}
	return newError(KindRequestTimeTooSkewed, service,
		wording{"SignatureDoesNotMatch", msg, http.StatusForbidden},
		wording{"RequestTimeTooSkewed", msgS3Skewed, http.StatusForbidden},
		Field{"RequestTime", amzTime(signedAt)},
		Field{"ServerTime", now.UTC().Format(time.RFC3339)},
		Field{"MaxAllowedSkewMilliseconds", strconv.FormatInt(skew.Milliseconds(), 10)})
}

func errDateMismatch(service, scopeDate, amzDate string, presigned bool) *Error {
	q := wording{"SignatureDoesNotMatch", fmt.Sprintf(
		"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
		scopeDate, amzDate[:8], amzDate), http.StatusForbidden}
	s3 := wording{"AuthorizationHeaderMalformed",
		msgS3HeaderBroken + "Invalid credential date. Date is not the same as X-Amz-Date.", http.StatusBadRequest}
	if presigned {
		s3 = wording{"AuthorizationQueryParametersError",
			"Invalid credential date. Date is not the same as X-Amz-Date.", http.StatusBadRequest}
	}
	return newError(KindCredentialDateMismatch, service, q, s3)
}

func errPresignExpired(service string, expires, now time.Time, seconds int64) *Error {
	return newError(KindRequestExpired, service,
		wording{"SignatureDoesNotMatch", fmt.Sprintf("Signature expired: %s is now earlier than %s",
			amzTime(expires), amzTime(now)), http.StatusForbidden},
		wording{"AccessDenied", "Request has expired", http.StatusForbidden},
		Field{"X-Amz-Expires", strconv.FormatInt(seconds, 10)},
		Field{"Expires", expires.UTC().Format(time.RFC3339)},
		Field{"ServerTime", now.UTC().Format(time.RFC3339)})
}

func errPresignNotYetValid(service string, signedAt, now time.Time, skew time.Duration) *Error {
	e := errSkewed(service, signedAt, now, skew)
	e.Kind = KindRequestNotYetValid
	e.s3 = wording{"AccessDenied", "Request is not yet valid", http.StatusForbidden}
	e.s3Fields = []Field{
		{"X-Amz-Date", amzTime(signedAt)},
		{"ServerTime", now.UTC().Format(time.RFC3339)},
	}
	return e.ForService(service)
}

func errMissingContentSHA(service, msg string) *Error {
	return newError(KindMissingContentSHA256, service,
		wording{"IncompleteSignature", msg, http.StatusBadRequest},
		wording{"InvalidRequest", msg, http.StatusBadRequest})
}

func errInvalidContentSHA(service string) *Error {
	const msg = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, " +
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, " +
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER " +
		"or a valid sha256 value."
	return newError(KindInvalidContentSHA256, service,
		wording{"IncompleteSignature", msg, http.StatusBadRequest},
		wording{"InvalidArgument", msg, http.StatusBadRequest},
		Field{"ArgumentName", "x-amz-content-sha256"})
}

// errContentMismatch: S3 checks the declared hash against the body. Other
// services fold the body into the signature, so for them a wrong body is a
// signature mismatch.
func errContentMismatch(service, declared, computed string) *Error {
	return newError(KindContentSHA256Mismatch, service,
		wording{"SignatureDoesNotMatch", msgQueryMismatch, http.StatusForbidden},
		wording{"XAmzContentSHA256Mismatch",
			"The provided 'x-amz-content-sha256' header does not match what was computed.", http.StatusBadRequest},
		Field{"ClientComputedContentSHA256", declared}, Field{"S3ComputedContentSHA256", computed})
}

func errUnsignedHeaders(service string, names []string) *Error {
	const msg = "There were headers present in the request which were not signed"
	return newError(KindUnsignedHeaders, service,
		wording{"IncompleteSignature", msg, http.StatusBadRequest},
		wording{"AccessDenied", msg, http.StatusForbidden},
		Field{"HeadersNotSigned", strings.Join(names, ", ")})
}

func errNotImplemented(service, header, value string) *Error {
	return newError(KindNotImplemented, service,
		wording{"NotImplemented", fmt.Sprintf("%s: %s is not supported by this emulator", header, value), http.StatusNotImplemented},
		wording{"NotImplemented", "A header you provided implies functionality that is not implemented", http.StatusNotImplemented},
		Field{"Header", header})
}

func errBodyTooLarge(service string, limit int64) *Error {
	msg := fmt.Sprintf("Request body exceeds the %d bytes this endpoint buffers to verify the signature", limit)
	return newError(KindBodyTooLarge, service,
		wording{"RequestEntityTooLarge", msg, http.StatusRequestEntityTooLarge},
		wording{"EntityTooLarge", msg, http.StatusBadRequest})
}

func errInternal(service string, cause error) *Error {
	e := newError(KindInternal, service,
		wording{"InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", http.StatusInternalServerError},
		wording{"InternalError", "We encountered an internal error. Please try again.", http.StatusInternalServerError})
	e.Err = cause
	return e
}

func amzTime(t time.Time) string { return t.UTC().Format(amzDateFormat) }
