package sigv4

// The verifier before it signed on its own: it had aws-sdk-go-v2's signer
// sign the reconstructed request again. Kept here, for tests only, as the
// reference the differential tests and BenchmarkVerify compare against.

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
)

// sdkCheck is the old signature check: the SDK's signature and signed
// headers against the client's, in constant time.
func sdkCheck(v *Verifier, in signInput) signCheck {
	out, err := computeSignature(in.r.Context(), in)
	if err != nil || out.signedHeaders != in.signedRaw ||
		subtle.ConstantTimeCompare([]byte(out.signature), []byte(in.signature)) != 1 {
		return signCheck{canonicalRequest: out.canonicalRequest, stringToSign: out.stringToSign, err: err}
	}
	return signCheck{ok: true}
}

// withSDKSigner is a Verifier option (tests only) that verifies through the
// SDK's signer, as the verifier did before it signed on its own.
func withSDKSigner() Option {
	return func(v *Verifier) error { v.check = sdkCheck; return nil }
}

// signOutput is what the SDK signer produced for the reconstructed request.
type signOutput struct {
	signature        string
	signedHeaders    string
	canonicalRequest string
	stringToSign     string
}

// computeSignature rebuilds the request the client signed — method, the
// escaped path as it came over the wire, the query, and exactly the signed
// headers — and has aws-sdk-go-v2's signer sign it again. The crypto and the
// canonicalisation are the SDK's; this function only decides what the SDK
// sees, so that it computes the same canonical request the client did.
func computeSignature(ctx context.Context, in signInput) (signOutput, error) {
	var out signOutput
	host := in.r.Host
	if host == "" {
		host = in.r.URL.Host
	}
	// The SDK strips a default port (":80" for http, ":443" for https) from
	// the host it signs. The client already did that before sending, so the
	// Host we received is exactly what it signed: pick the scheme for which
	// the received port is not the default, so nothing is stripped twice.
	scheme := "http"
	if hostPort(host) == "80" {
		scheme = "https"
	}
	rawQuery := in.r.URL.RawQuery
	if in.presigned {
		q := make(url.Values, len(in.query))
		for k, v := range in.query {
			if k != querySignature {
				q[k] = v
			}
		}
		rawQuery = q.Encode()
	}
	req := &http.Request{
		Method: in.r.Method,
		// Opaque carries the path exactly as escaped on the wire; the SDK
		// reads it ("//host/path" form) instead of re-escaping URL.Path.
		URL:    &url.URL{Scheme: scheme, Host: host, Opaque: "//h" + wirePath(in.r), RawQuery: rawQuery},
		Host:   host,
		Header: make(http.Header, len(in.signedHeaders)),
	}
	for _, name := range in.signedHeaders {
		switch {
		case name == "host":
			continue // the SDK always signs req.Host itself
		case name == "content-length":
			// The SDK signs ContentLength when > 0 and skips any
			// Content-Length header, so the signed length goes here.
			if in.r.ContentLength <= 0 {
				return out, errUnreproducibleLength
			}
			req.ContentLength = in.r.ContentLength
			continue
		case name == "x-amz-date" && !in.presigned:
			continue // the SDK writes X-Amz-Date from signedAt
		}
		vals := in.r.Header.Values(name)
		if len(vals) == 0 && name == "transfer-encoding" {
			// net/http moves Transfer-Encoding out of the header map.
			vals = []string{strings.Join(in.r.TransferEncoding, ",")}
		}
		if len(vals) == 0 {
			vals = []string{""}
		}
		// Lower-case keys on purpose: the SDK refuses to sign a few
		// headers (User-Agent, Expect, ...) by exact canonical key, but a
		// client that did sign one must still verify.
		req.Header[name] = vals
	}
	creds := aws.Credentials{AccessKeyID: in.scope.AccessKeyID, SecretAccessKey: in.secret}
	capture := logging.LoggerFunc(func(_ logging.Classification, _ string, v ...any) {
		if len(v) >= 2 {
			out.canonicalRequest, _ = v[0].(string)
			out.stringToSign, _ = v[1].(string)
		}
	})
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 signs the path as sent; every other service escapes it again.
		o.DisableURIPathEscaping = in.scope.Service == "s3"
		// Headers stay headers and the token stays wherever the client put
		// it; the request is reproduced, not re-decided.
		o.DisableHeaderHoisting = true
		o.DisableSessionToken = true
		o.LogSigning = true
		o.Logger = capture
	})
	if in.presigned {
		uri, _, err := signer.PresignHTTP(ctx, creds, req, in.payloadHash, in.scope.Service, in.scope.Region, in.signedAt)
		if err != nil {
			return out, err
		}
		i := strings.LastIndex(uri, querySignature+"=")
		if i < 0 {
			return out, nil
		}
		out.signature = uri[i+len(querySignature)+1:]
		if u, err := url.Parse(uri); err == nil {
			out.signedHeaders = u.Query().Get(querySignedHeaders)
		}
		return out, nil
	}
	if err := signer.SignHTTP(ctx, creds, req, in.payloadHash, in.scope.Service, in.scope.Region, in.signedAt); err != nil {
		return out, err
	}
	a, perr := parseAuthorization(req.Header.Get(headerAuthorization), true)
	if perr != nil {
		return out, perr
	}
	out.signature, out.signedHeaders = a.Signature, a.SignedHeadersRaw
	return out, nil
}
