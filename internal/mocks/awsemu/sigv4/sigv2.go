package sigv4

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SigV2 is HMAC-SHA1 by definition
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// S3's query-string authentication, Signature Version 2 (AWSAccessKeyId, Expires, Signature):
// the form boto3 still produces for some configurations. S3 verifies and enforces it like SigV4,
// and answers its failures with S3's error documents. See
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html.

// IsSigV2Query reports whether r carries SigV2 query-string authentication (and no SigV4).
func IsSigV2Query(r *http.Request) bool {
	raw := r.URL.RawQuery
	if !strings.Contains(raw, "AWSAccessKeyId") || !strings.Contains(raw, "Signature") {
		return false
	}
	q := r.URL.Query()
	return q.Has("AWSAccessKeyId") && q.Has("Signature") && !q.Has(queryAlgorithm) && !q.Has(queryCredential)
}

// sigV2Subresources are the query parameters that belong to the canonicalized resource.
var sigV2Subresources = []string{"acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
	"partNumber", "policy", "requestPayment", "response-cache-control", "response-content-disposition",
	"response-content-encoding", "response-content-language", "response-content-type", "response-expires",
	"restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website"}

// SigV2StringToSign is what a SigV2 presigned request signs: the method, Content-MD5,
// Content-Type, Expires, the x-amz-* headers and query parameters (lower-cased, sorted, values
// joined with commas) and the canonicalized resource — resourcePath ("/bucket/key", as sent)
// followed by the subresources in the query.
func SigV2StringToSign(r *http.Request, resourcePath string) string {
	q := r.URL.Query()
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" + q.Get("Expires") + "\n")
	amz := map[string][]string{}
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz[lk] = append(amz[lk], vs...)
		}
	}
	for k, vs := range q {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz[lk] = append(amz[lk], vs...)
		}
	}
	names := make([]string, 0, len(amz))
	for k := range amz {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vals := make([]string, len(amz[k]))
		for i, v := range amz[k] {
			vals[i] = strings.TrimSpace(v)
		}
		b.WriteString(k + ":" + strings.Join(vals, ",") + "\n")
	}
	b.WriteString(resourcePath)
	var subs []string
	for _, s := range sigV2Subresources {
		if vs, ok := q[s]; ok {
			if len(vs) > 0 && vs[0] != "" {
				subs = append(subs, s+"="+vs[0])
			} else {
				subs = append(subs, s)
			}
		}
	}
	if len(subs) > 0 {
		b.WriteString("?" + strings.Join(subs, "&"))
	}
	return b.String()
}

// VerifySigV2 authenticates an S3 request presigned with SigV2. resourcePath is the request's
// "/bucket/key" in path style (the caller resolves virtual-hosted buckets). Failures are *Error
// worded for S3: AccessDenied for missing parameters or an expired URL, InvalidAccessKeyId,
// InvalidToken, ExpiredToken, SignatureDoesNotMatch with StringToSign and its bytes.
func (v *Verifier) VerifySigV2(r *http.Request, resourcePath string) (*Result, error) {
	now := v.now()
	q := r.URL.Query()
	akid, sig, expRaw := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
	if akid == "" || sig == "" || expRaw == "" {
		return nil, newError(KindIncompleteSignature, "s3", wording{},
			wording{"AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters", http.StatusForbidden})
	}
	if r.Header.Get(headerAuthorization) != "" {
		const msg = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
			"Signature query string parameter or the Authorization header should be specified"
		return nil, newError(KindUnsupportedAuthentication, "s3", wording{},
			wording{"InvalidArgument", msg, http.StatusBadRequest}, Field{"ArgumentName", headerAuthorization})
	}
	secs, err := strconv.ParseInt(expRaw, 10, 64)
	if err != nil {
		return nil, newError(KindIncompleteSignature, "s3", wording{},
			wording{"AccessDenied", "Invalid date (should be seconds since epoch): " + expRaw, http.StatusForbidden})
	}
	expires := time.Unix(secs, 0)
	if !now.Before(expires) {
		return nil, newError(KindRequestExpired, "s3", wording{},
			wording{"AccessDenied", "Request has expired", http.StatusForbidden},
			Field{"Expires", expires.UTC().Format(time.RFC3339)}, Field{"ServerTime", now.UTC().Format(time.RFC3339)})
	}
	cred, lerr := v.store.LookupAccessKey(r.Context(), akid)
	switch {
	case errors.Is(lerr, ErrUnknownAccessKey):
		return nil, errUnknownKey("s3", akid, lerr)
	case lerr != nil:
		return nil, errInternal("s3", lerr)
	}
	token := r.Header.Get(headerToken)
	for k, vs := range q { // botocore puts it in the query as x-amz-security-token
		if strings.EqualFold(k, queryToken) && len(vs) > 0 {
			token = vs[0]
		}
	}
	switch {
	case cred.SessionToken == "" && token != "":
		return nil, errBadToken("s3")
	case cred.SessionToken != "" && token == "":
		return nil, errUnknownKey("s3", akid, nil)
	case subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1:
		return nil, errBadToken("s3")
	case !cred.Expires.IsZero() && !now.Before(cred.Expires):
		return nil, errExpiredToken("s3")
	}
	sts := SigV2StringToSign(r, resourcePath)
	mac := hmac.New(sha1.New, []byte(cred.SecretAccessKey))
	mac.Write([]byte(sts))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		e := newError(KindSignatureMismatch, "s3", wording{},
			wording{"SignatureDoesNotMatch", msgS3Mismatch, http.StatusForbidden},
			Field{"AWSAccessKeyId", akid}, Field{"StringToSign", sts}, Field{"SignatureProvided", sig},
			Field{"StringToSignBytes", spacedHex(sts)})
		e.StringToSign = sts
		return nil, e
	}
	// SigV2 has no credential scope, hence no region: the caller places the request.
	return &Result{AccessKeyID: akid, Credential: cred, Service: "s3", Presigned: true,
		Expires: expires, PayloadHash: "UNSIGNED-PAYLOAD", SigV2: true}, nil
}

// spacedHex is S3's …Bytes form of a string in an error document: each byte as two hex digits,
// separated by spaces.
func spacedHex(s string) string {
	if s == "" {
		return ""
	}
	out := make([]byte, 0, len(s)*3-1)
	for i := range len(s) {
		if i > 0 {
			out = append(out, ' ')
		}
		out = hex.AppendEncode(out, []byte{s[i]})
	}
	return string(out)
}
