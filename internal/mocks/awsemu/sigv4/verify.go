package sigv4

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultMaxSkew is how far X-Amz-Date may be from the verifier's clock
	// (15 minutes, as AWS: S3's MaxAllowedSkewMilliseconds is 900000).
	DefaultMaxSkew = 15 * time.Minute
	// DefaultMaxBodyBytes bounds the body Verify buffers to hash it (non-S3
	// requests without x-amz-content-sha256, and small S3 bodies).
	DefaultMaxBodyBytes = 8 << 20
	// maxPresignExpires is S3's limit on X-Amz-Expires: one week.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// Verifier authenticates SigV4-signed requests against a CredentialStore.
// It is safe for concurrent use.
type Verifier struct {
	store   CredentialStore
	now     func() time.Time
	skew    time.Duration
	maxBody int64
	keys    keyCache
	// check recomputes and compares a signature (checkSignature; tests put
	// the SDK signer here to compare the two).
	check func(*Verifier, signInput) signCheck
}

// Option configures a Verifier.
type Option func(*Verifier) error

// WithClock sets the clock Verify compares signing times against.
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) error {
		if now == nil {
			return errors.New("sigv4: WithClock: clock must not be nil")
		}
		v.now = now
		return nil
	}
}

// WithMaxSkew sets the allowed distance between X-Amz-Date and the clock
// (default DefaultMaxSkew).
func WithMaxSkew(d time.Duration) Option {
	return func(v *Verifier) error {
		if d <= 0 {
			return fmt.Errorf("sigv4: WithMaxSkew: skew must be positive, got %v", d)
		}
		v.skew = d
		return nil
	}
}

// WithMaxBodyBytes bounds how much body Verify buffers to hash it
// (default DefaultMaxBodyBytes). Larger bodies are refused, except S3
// bodies, which are hashed as the handler streams them.
func WithMaxBodyBytes(n int64) Option {
	return func(v *Verifier) error {
		if n <= 0 {
			return fmt.Errorf("sigv4: WithMaxBodyBytes: limit must be positive, got %d", n)
		}
		v.maxBody = n
		return nil
	}
}

// NewVerifier returns a Verifier that looks secrets up in store.
func NewVerifier(store CredentialStore, opts ...Option) (*Verifier, error) {
	if store == nil {
		return nil, errors.New("sigv4: NewVerifier: credential store must not be nil")
	}
	v := &Verifier{store: store, now: time.Now, skew: DefaultMaxSkew, maxBody: DefaultMaxBodyBytes,
		check: (*Verifier).checkSignature}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Result describes a request whose signature verified.
type Result struct {
	AccessKeyID string
	Credential  Credential // from the store; Principal is the caller's
	Region      string     // from the credential scope
	Service     string     // from the credential scope; route by this
	SignedAt    time.Time  // X-Amz-Date
	Presigned   bool
	// Expires is when a presigned request stops being accepted (S3:
	// X-Amz-Date+X-Amz-Expires; others: X-Amz-Date+skew). Zero for the
	// header form.
	Expires       time.Time
	SignedHeaders []string
	// PayloadHash is the payload hash that was signed: a hex SHA-256 or a
	// literal such as UNSIGNED-PAYLOAD.
	PayloadHash string
	// SigV2 says the request was authenticated with S3's query-string Signature Version 2
	// (VerifySigV2): no scope, no signing time, and s3:signatureversion "AWS".
	SigV2 bool
}

// Verify authenticates r. On success it returns who signed it; on failure
// it returns an *Error worded for the credential scope's service (Query
// wording when there is no scope; see Error.ForService). A request with no
// SigV4 material at all fails with KindMissingAuthentication (IsAnonymous).
//
// Verify may replace r.Body: non-S3 bodies are read to hash them and put
// back; S3 bodies declared with a hex x-amz-content-sha256 are checked now
// when small, else wrapped so that reading past the end returns an *Error
// of KindContentSHA256Mismatch if they do not match.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	res, err := v.verify(r)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (v *Verifier) verify(r *http.Request) (*Result, *Error) {
	now := v.now()
	form, query, err := detectForm(r)
	if err != nil {
		return nil, err
	}
	res := &Result{Presigned: form == formQuery}
	var (
		sc                     Scope
		signedHeaders          []string
		signedRaw, sig, amzDat string
		expiresRaw, token      string
	)
	if form == formHeader {
		amzDat = r.Header.Get(headerDate)
		a, err := parseAuthorization(r.Header.Get(headerAuthorization), amzDat != "")
		if err != nil {
			return nil, err.ForService(a.Scope.Service)
		}
		sc, signedHeaders, signedRaw, sig = a.Scope, a.SignedHeaders, a.SignedHeadersRaw, a.Signature
		if amzDat == "" {
			msg := "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
			if r.Header.Get("Date") != "" {
				msg = "X-Amz-Date is required: this endpoint does not verify requests dated only by the Date header."
			}
			return nil, errNoDate(sc.Service, msg)
		}
		if !slices.Contains(signedHeaders, "x-amz-date") {
			return nil, errIncomplete(sc.Service, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
				"'X-Amz-Date' must be a signed header.")
		}
		token = r.Header.Get(headerToken)
	} else {
		// The scope decides whether S3's stricter presigning rules apply.
		guess, _ := parseCredential(query.Get(queryCredential), true)
		p, err := parsePresign(query, guess.Service == "s3")
		if err != nil {
			return nil, err.ForService(guess.Service)
		}
		sc, signedHeaders, signedRaw, sig = p.Scope, p.SignedHeaders, p.SignedHeadersRaw, p.Signature
		amzDat, expiresRaw = p.Date, p.Expires
		token = query.Get(queryToken)
		if token == "" {
			token = r.Header.Get(headerToken)
		}
	}
	svc, s3 := sc.Service, sc.Service == "s3"

	signedAt, ok := parseAmzDate(amzDat)
	if !ok {
		msg := fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDat)
		if res.Presigned {
			return nil, errIncompleteQuery(svc, msg, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
		}
		return nil, errNoDate(svc, msg)
	}
	if sc.Date != amzDat[:8] {
		return nil, errDateMismatch(svc, sc.Date, amzDat, res.Presigned)
	}
	if err := v.checkTime(res, svc, s3, signedAt, now, expiresRaw); err != nil {
		return nil, err
	}

	cred, lerr := v.store.LookupAccessKey(r.Context(), sc.AccessKeyID)
	switch {
	case errors.Is(lerr, ErrUnknownAccessKey):
		return nil, errUnknownKey(svc, sc.AccessKeyID, lerr)
	case lerr != nil:
		return nil, errInternal(svc, lerr)
	}
	switch {
	case cred.SessionToken == "" && token != "":
		return nil, errBadToken(svc) // a long-term key carries no token
	case cred.SessionToken != "" && token == "":
		// AWS answers a temporary key without its token as an unknown key.
		return nil, errUnknownKey(svc, sc.AccessKeyID, nil)
	case subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1:
		return nil, errBadToken(svc)
	case !cred.Expires.IsZero() && !now.Before(cred.Expires):
		return nil, errExpiredToken(svc)
	}

	pl, err := v.payload(r, res.Presigned, svc, signedHeaders, query)
	if err != nil {
		return nil, err
	}
	if s3 {
		if err := checkAmzHeadersSigned(r, svc, signedHeaders); err != nil {
			return nil, err
		}
	}
	out := v.check(v, signInput{
		r: r, presigned: res.Presigned, scope: sc, signedHeaders: signedHeaders, signedRaw: signedRaw,
		signature: sig, signedAt: signedAt, amzDate: amzDat, payloadHash: pl.hash, query: query,
		secret: cred.SecretAccessKey,
	})
	if !out.ok && !cred.AnySecret {
		e := errMismatch(svc, sc.AccessKeyID, sig)
		e.CanonicalRequest, e.StringToSign, e.Err = out.canonicalRequest, out.stringToSign, out.err
		if out.stringToSign != "" {
			e.s3Fields = append(e.s3Fields, Field{"StringToSign", out.stringToSign}, Field{"StringToSignBytes", spacedHex(out.stringToSign)},
				Field{"CanonicalRequest", out.canonicalRequest}, Field{"CanonicalRequestBytes", spacedHex(out.canonicalRequest)})
		}
		return nil, e.ForService(svc)
	}
	if err := pl.check(r, svc); err != nil {
		return nil, err
	}
	res.AccessKeyID, res.Credential = sc.AccessKeyID, cred
	res.Region, res.Service, res.SignedAt = sc.Region, sc.Service, signedAt
	res.SignedHeaders, res.PayloadHash = signedHeaders, pl.hash
	return res, nil
}

// checkTime enforces the time window. The header form, and presigned
// requests to services other than S3, must be signed within ±skew of now:
// STS ignores X-Amz-Expires and honours a presigned URL for 15 minutes
// (aws/aws-sdk-go#2167, kubernetes-sigs/aws-iam-authenticator#160). S3
// presigned URLs live X-Amz-Expires seconds (1..604800).
func (v *Verifier) checkTime(res *Result, svc string, s3 bool, signedAt, now time.Time, expiresRaw string) *Error {
	if !res.Presigned || !s3 {
		if d := now.Sub(signedAt); d > v.skew || d < -v.skew {
			return errSkewed(svc, signedAt, now, v.skew)
		}
		if res.Presigned {
			res.Expires = signedAt.Add(v.skew)
		}
		return nil
	}
	n, err := strconv.ParseInt(expiresRaw, 10, 64)
	var msg string
	switch {
	case err != nil:
		msg = "X-Amz-Expires should be a number"
	case n < 0:
		msg = "X-Amz-Expires must be non-negative"
	case n == 0:
		msg = "X-Amz-Expires must be at least 1 second"
	case n > maxPresignExpires:
		msg = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
	}
	if msg != "" {
		return errIncompleteQuery(svc, msg, msg)
	}
	if signedAt.Sub(now) > v.skew {
		return errPresignNotYetValid(svc, signedAt, now, v.skew)
	}
	res.Expires = signedAt.Add(time.Duration(n) * time.Second)
	if now.After(res.Expires) {
		return errPresignExpired(svc, res.Expires, now, n)
	}
	return nil
}

// checkAmzHeadersSigned enforces S3's rule that every x-amz-* header on the
// request is signed.
func checkAmzHeadersSigned(r *http.Request, svc string, signed []string) *Error {
	var unsigned []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") && !slices.Contains(signed, lk) {
			unsigned = append(unsigned, lk)
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	sort.Strings(unsigned)
	return errUnsignedHeaders(svc, unsigned)
}

// CheckScope reports whether a verified request was scoped to service and,
// when regions are given, to one of them; the error is worded for service,
// the one the endpoint serves. Verify leaves this to the caller because one
// emulator endpoint serves several services and regions.
func (r *Result) CheckScope(service string, regions ...string) error {
	if r.Service != service {
		q := wording{"SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service), http.StatusForbidden}
		s3 := wording{"AuthorizationHeaderMalformed", fmt.Sprintf(
			"%sincorrect service %q. This endpoint belongs to %q.", msgS3HeaderBroken, r.Service, service), http.StatusBadRequest}
		return newError(KindWrongService, service, q, s3)
	}
	if len(regions) == 0 || slices.Contains(regions, r.Region) {
		return nil
	}
	q := wording{"SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", r.Region), http.StatusForbidden}
	s3 := wording{"AuthorizationHeaderMalformed", fmt.Sprintf(
		"%sthe region '%s' is wrong; expecting '%s'", msgS3HeaderBroken, r.Region, regions[0]), http.StatusBadRequest}
	if r.Presigned {
		s3.code = "AuthorizationQueryParametersError"
		s3.msg = fmt.Sprintf("Error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'", r.Region, regions[0])
	}
	return newError(KindWrongRegion, service, q, s3, Field{"Region", regions[0]})
}

// queryValue is url.Values.Get on a possibly nil map.
func queryValue(q url.Values, k string) string {
	if q == nil {
		return ""
	}
	return q.Get(k)
}
