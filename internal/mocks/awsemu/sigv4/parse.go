package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	scopeTerminator = "aws4_request"

	headerAuthorization = "Authorization"
	headerDate          = "X-Amz-Date"
	headerToken         = "X-Amz-Security-Token"
	headerContentSHA    = "X-Amz-Content-Sha256"

	queryAlgorithm     = "X-Amz-Algorithm"
	queryCredential    = "X-Amz-Credential"
	queryDate          = "X-Amz-Date"
	queryExpires       = "X-Amz-Expires"
	querySignedHeaders = "X-Amz-SignedHeaders"
	querySignature     = "X-Amz-Signature"
	queryToken         = "X-Amz-Security-Token"
	queryContentSHA    = "X-Amz-Content-Sha256"
)

// Scope is a SigV4 credential scope, AKID/yyyymmdd/region/service/aws4_request.
type Scope struct {
	AccessKeyID string
	Date        string // yyyymmdd, as written in the scope
	Region      string
	Service     string
	// Presigned is true when the scope came from X-Amz-Credential rather
	// than the Authorization header.
	Presigned bool
}

// ParseScope extracts the credential scope of r without verifying anything,
// so the emulator can route by service and word errors before it verifies.
// It must never be used to authorize: anyone can write any scope. It
// returns an *Error (KindMissingAuthentication when r carries no SigV4
// material) when there is no well-formed scope.
func ParseScope(r *http.Request) (Scope, error) {
	form, query, err := detectForm(r)
	if err != nil {
		return Scope{}, err
	}
	if form == formHeader {
		a, err := parseAuthorizationScope(r.Header.Get(headerAuthorization), true)
		if err != nil && a.Scope.Service == "" {
			return Scope{}, err
		}
		return a.Scope, nil
	}
	sc, err := parseCredential(query.Get(queryCredential), true)
	if err != nil {
		return Scope{}, err
	}
	return sc, nil
}

type authForm uint8

const (
	formHeader authForm = iota + 1
	formQuery
)

// detectForm decides between the header and the presigned form. It parses
// the query only when it can hold SigV4 parameters.
func detectForm(r *http.Request) (authForm, url.Values, *Error) {
	hdr := r.Header.Values(headerAuthorization)
	var query url.Values
	presigned := false
	// Cheap pre-filter; '%' covers percent-encoded parameter names.
	if raw := r.URL.RawQuery; strings.Contains(raw, "X-Amz-") || strings.Contains(raw, "Signature") || strings.Contains(raw, "%") {
		query = r.URL.Query()
		presigned = query.Has(queryAlgorithm) || query.Has(queryCredential) || query.Has(querySignature)
		if !presigned && query.Has("AWSAccessKeyId") && query.Has("Signature") {
			return 0, nil, errUnsupported("",
				"Query-string authentication version 2 is not supported; use AWS4-HMAC-SHA256.",
				"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
		}
	}
	switch {
	case len(hdr) > 0 && presigned:
		const msg = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
			"Signature query string parameter or the Authorization header should be specified"
		return 0, nil, newError(KindUnsupportedAuthentication, "",
			wording{"IncompleteSignature", msg, http.StatusBadRequest},
			wording{"InvalidArgument", msg, http.StatusBadRequest},
			Field{"ArgumentName", headerAuthorization})
	case len(hdr) > 1:
		return 0, nil, errIncomplete("", "Request must contain exactly one Authorization header.",
			"a request must contain exactly one Authorization header.")
	case len(hdr) == 1:
		return formHeader, query, nil
	case presigned:
		return formQuery, query, nil
	}
	return 0, nil, errMissingAuth("")
}

// authorization is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." header.
type authorization struct {
	Scope            Scope
	SignedHeaders    []string // as written: lower case, ';'-separated
	SignedHeadersRaw string
	Signature        string
}

// parseAuthorization parses an Authorization header the way STS words its
// complaints. hasDate folds the "requires a date" complaint into the same
// message, as AWS does. On error the returned value still carries the scope
// when the Credential part parsed, so the error can be worded for it.
func parseAuthorization(h string, hasDate bool) (authorization, *Error) {
	return parseAuthorizationParts(h, hasDate, false)
}

// parseAuthorizationScope is parseAuthorization for ParseScope, which routes every request
// before Verify parses its header again: the SignedHeaders list, read after the scope is set,
// is left unread (unsplit), so it neither fails nor fills in SignedHeaders.
func parseAuthorizationScope(h string, hasDate bool) (authorization, *Error) {
	return parseAuthorizationParts(h, hasDate, true)
}

func parseAuthorizationParts(h string, hasDate, scopeOnly bool) (authorization, *Error) {
	var a authorization
	h = strings.TrimSpace(h)
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithm && (strings.HasPrefix(alg, "AWS4-") || alg == "AWS") {
		return a, errUnsupported("",
			fmt.Sprintf("Unsupported AWS 'algorithm': '%s'; this endpoint verifies AWS4-HMAC-SHA256 only.", alg),
			"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	// The first malformed part is the error, but the parts are all read, so that the scope of
	// a well-formed Credential still words it for its service.
	var malformed *Error
	if alg == algorithm {
		for more := true; more; {
			var part string
			part, rest, more = strings.Cut(rest, ",")
			part = strings.TrimSpace(part)
			if part == "" || malformed != nil && !strings.HasPrefix(part, "Credential=") {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				malformed = errIncomplete("", fmt.Sprintf(
					"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, h),
					"the authorization header requires three components: Credential, SignedHeaders, and Signature.")
				continue
			}
			var dst *string
			var seen *bool
			switch k {
			case "Credential":
				dst, seen = &cred, &haveCred
			case "SignedHeaders":
				dst, seen = &signed, &haveSigned
			case "Signature":
				dst, seen = &sig, &haveSig
			default:
				continue // AWS ignores parameters it does not know
			}
			if *seen {
				if malformed == nil {
					malformed = errIncomplete("", fmt.Sprintf("Authorization header has more than one '%s' parameter.", k),
						"the authorization header requires three components: Credential, SignedHeaders, and Signature.")
				}
				continue
			}
			*dst, *seen = v, true
		}
	}
	if malformed != nil {
		if sc, err := parseCredential(cred, false); haveCred && err == nil {
			a.Scope = sc
		}
		return a, malformed
	}
	var missing []string
	for _, p := range []struct {
		name string
		ok   bool
	}{{"Credential", cred != ""}, {"Signature", sig != ""}, {"SignedHeaders", signed != ""}} {
		if !p.ok {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", p.name))
		}
	}
	if len(missing) > 0 {
		if !hasDate {
			missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
		}
		return a, errIncomplete("", strings.Join(missing, " "),
			"the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	sc, err := parseCredential(cred, false)
	if err != nil {
		return a, err
	}
	a.Scope = sc
	if scopeOnly {
		return a, nil
	}
	names, err := parseSignedHeaders(signed, false)
	if err != nil {
		return a, err
	}
	a.SignedHeaders, a.SignedHeadersRaw, a.Signature = names, signed, sig
	return a, nil
}

// parseCredential parses AKID/yyyymmdd/region/service/aws4_request.
func parseCredential(v string, presigned bool) (Scope, *Error) {
	const expecting = `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`
	bad := func(queryMsg string) *Error {
		if presigned {
			return errIncompleteQuery("", queryMsg, "Error parsing the X-Amz-Credential parameter; "+expecting)
		}
		return errIncomplete("", queryMsg, expecting)
	}
	// Five slash-separated parts, cut into an array: every request has a credential.
	var parts [5]string
	if strings.Count(v, "/") != 4 {
		return Scope{}, bad(fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", v))
	}
	rest := v
	for i := range parts {
		parts[i], rest, _ = strings.Cut(rest, "/")
	}
	for _, p := range parts {
		if p == "" {
			return Scope{}, bad(fmt.Sprintf("Credential has an empty element: '%s'", v))
		}
	}
	if parts[4] != scopeTerminator {
		return Scope{}, bad(fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4]))
	}
	if _, _, _, ok := scopeDate(parts[1]); !ok {
		return Scope{}, bad(fmt.Sprintf("Credential date must be in the form yyyyMMdd, got '%s'.", parts[1]))
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Presigned: presigned}, nil
}

// parseSignedHeaders splits "host;x-amz-date" and insists on host, which
// SigV4 requires to be signed.
func parseSignedHeaders(v string, presigned bool) ([]string, *Error) {
	bad := func(queryMsg, s3msg string) *Error {
		if presigned {
			return errIncompleteQuery("", queryMsg, s3msg)
		}
		return errIncomplete("", queryMsg, s3msg)
	}
	names := strings.Split(v, ";")
	host := false
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, " \t:,") {
			return nil, bad(fmt.Sprintf("SignedHeaders must be a ';'-separated list of header names, got '%s'.", v),
				"the SignedHeaders element is mal-formed.")
		}
		host = host || strings.EqualFold(n, "host")
	}
	if !host {
		return nil, bad("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
			"'Host' must be a signed header.")
	}
	return names, nil
}

// presign is the parsed presigning query.
type presign struct {
	Scope            Scope
	SignedHeaders    []string
	SignedHeadersRaw string
	Signature        string
	Date             string
	Expires          string // raw; "" when absent
}

// parsePresign reads the X-Amz-* presigning parameters. X-Amz-Expires is
// required for S3 only; STS and the other Query services ignore it.
func parsePresign(q url.Values, s3 bool) (presign, *Error) {
	var p presign
	required := []string{queryAlgorithm, queryCredential, querySignature, queryDate, querySignedHeaders}
	if s3 {
		required = append(required, queryExpires)
	}
	var missing []string
	for _, k := range append(required, queryExpires, queryToken, queryContentSHA) {
		if len(q[k]) > 1 {
			return p, errIncompleteQuery("", fmt.Sprintf("AWS query-string parameter '%s' must appear once.", k),
				fmt.Sprintf("Query-string parameter %s must appear once.", k))
		}
	}
	for _, k := range required {
		if q.Get(k) == "" {
			missing = append(missing, fmt.Sprintf("AWS query-string parameters must include '%s'.", k))
		}
	}
	if len(missing) > 0 {
		return p, errIncompleteQuery("", strings.Join(missing, " ")+" Re-examine the query-string parameters.",
			"Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "+
				"X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	if alg := q.Get(queryAlgorithm); alg != algorithm {
		e := errUnsupported("", fmt.Sprintf("Unsupported AWS 'algorithm': '%s'; this endpoint verifies AWS4-HMAC-SHA256 only.", alg),
			`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
		e.s3.code = "AuthorizationQueryParametersError"
		return p, e.ForService("")
	}
	sc, err := parseCredential(q.Get(queryCredential), true)
	if err != nil {
		return p, err
	}
	p.Scope = sc
	names, err := parseSignedHeaders(q.Get(querySignedHeaders), true)
	if err != nil {
		return p, err
	}
	p.SignedHeaders, p.SignedHeadersRaw = names, q.Get(querySignedHeaders)
	p.Signature, p.Date, p.Expires = q.Get(querySignature), q.Get(queryDate), q.Get(queryExpires)
	return p, nil
}

// parseAmzDate parses the strict ISO-8601 basic format SigV4 signs,
// yyyyMMdd'T'HHmmss'Z' (amzDateFormat), digits only and every field in range. Every
// request carries one (and a credential date, scopeDate), so both are read by hand
// rather than by time.Parse and a round trip through time.Format;
// FuzzDatesMatchTimeParse holds them to that.
func parseAmzDate(v string) (time.Time, bool) {
	if len(v) != len(amzDateFormat) || v[8] != 'T' || v[15] != 'Z' {
		return time.Time{}, false
	}
	y, m, d, ok := scopeDate(v[:8])
	hh, ok1 := digits(v[9:11])
	mm, ok2 := digits(v[11:13])
	ss, ok3 := digits(v[13:15])
	if !ok || !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, time.UTC), true
}

// scopeDate reads a credential scope's date, yyyyMMdd (scopeDateFormat): eight digits
// naming a day that exists.
func scopeDate(v string) (year, month, day int, ok bool) {
	if len(v) != len(scopeDateFormat) {
		return 0, 0, 0, false
	}
	y, ok1 := digits(v[:4])
	m, ok2 := digits(v[4:6])
	d, ok3 := digits(v[6:8])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(m, y) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// daysIn is the number of days of month m (1-12) in year y of the Gregorian calendar.
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits reads s as a decimal number of ASCII digits only.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
