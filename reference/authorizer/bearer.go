package authorizer

import (
	"fmt"
	"net/url"
	"strings"
)

// denial is a deny decided before the role store: the reason, what is wrong (never the
// token), and, for Unavailable reasons, the dependency's error.
type denial struct {
	reason Reason
	detail string
	err    error
}

func deny(r Reason, format string, args ...any) *denial {
	return &denial{reason: r, detail: fmt.Sprintf(format, args...)}
}

// parseBearer extracts the token from the Authorization header values of one request (RFC
// 6750 §2.1): exactly one header holding exactly one credential, `Bearer` in any case, one or
// more spaces, then a b64token. Optional whitespace around the value is ignored (RFC 9110
// §5.5). The token never appears in a detail.
func parseBearer(values []string) (string, *denial) {
	token, dn := bearerCredential(values)
	if dn != nil {
		return "", dn
	}
	if dn := checkB64Token(token); dn != nil {
		return "", dn
	}
	return token, nil
}

// bearerCredential is parseBearer without the token's own syntax (checkB64Token): the one
// header, the scheme, and the credential after it.
func bearerCredential(values []string) (string, *denial) {
	switch {
	case len(values) == 0:
		return "", deny(ReasonMissingToken, "the Authorization header is missing")
	case len(values) > 1:
		return "", deny(ReasonMalformedHeader, "the Authorization header appears %d times; send exactly one Bearer credential", len(values))
	}
	v := strings.Trim(values[0], " \t")
	if v == "" {
		return "", deny(ReasonMissingToken, "the Authorization header is empty")
	}
	scheme, rest, hasSpace := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if looksLikeScheme(scheme) {
			return "", deny(ReasonMalformedHeader, "the Authorization scheme %s is not Bearer (RFC 6750 §2.1)", quote(scheme))
		}
		return "", deny(ReasonMalformedHeader, "the Authorization header does not start with the Bearer scheme (RFC 6750 §2.1)")
	}
	token := strings.TrimLeft(rest, " ")
	if !hasSpace || token == "" {
		return "", deny(ReasonMalformedHeader, "the Authorization header has the Bearer scheme but no token")
	}
	return token, nil
}

// checkB64Token applies RFC 6750's b64token syntax to a bearer credential.
func checkB64Token(token string) *denial {
	if i := indexNonB64Token(token); i >= 0 {
		switch token[i] {
		case ' ', ',', '\t':
			return deny(ReasonMalformedHeader, "the Authorization header holds more than one credential; send exactly one Bearer token")
		}
		return deny(ReasonMalformedHeader, "the bearer token has a character outside RFC 6750's b64token (letters, digits and -._~+/ then = padding) at offset %d", i)
	}
	if err := checkPadding(token); err != "" {
		return deny(ReasonMalformedHeader, "%s", err)
	}
	return nil
}

// looksLikeScheme reports whether s can be echoed as a scheme name: short and made of
// letters and hyphens, so a raw token sent without a scheme is never repeated back.
func looksLikeScheme(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return false
		}
	}
	return true
}

// isB64TokenRune reports whether r may appear in an RFC 6750 b64token.
func isB64TokenRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '.' || r == '_' || r == '~' || r == '+' || r == '/' || r == '='
}

// b64TokenBytes marks the bytes isB64TokenRune accepts (all ASCII).
var b64TokenBytes = func() (t [256]bool) {
	for c := range 128 {
		t[c] = isB64TokenRune(rune(c))
	}
	return t
}()

// indexNonB64Token is the offset of the first byte of s outside a b64token, or -1: a table
// lookup per byte, since every decision scans the whole token.
func indexNonB64Token(s string) int {
	for i := 0; i < len(s); i++ {
		if !b64TokenBytes[s[i]] {
			return i
		}
	}
	return -1
}

// checkPadding enforces that "=" only ends a b64token.
func checkPadding(token string) string {
	body := strings.TrimRight(token, "=")
	if body == "" {
		return "the bearer token is only padding"
	}
	if strings.Contains(body, "=") {
		return "the bearer token has \"=\" before its end; RFC 6750's b64token allows it only as trailing padding"
	}
	return ""
}

// queryToken reports whether a query string carries an access token (RFC 6750 §2.3), which
// this authorizer refuses: query strings end up in access logs, browser history and Referer.
// Parameter names are compared case-insensitively so that variants do not slip through.
func queryToken(rawQuery string, params map[string][]string) bool {
	for k := range params {
		if strings.EqualFold(k, "access_token") {
			return true
		}
	}
	if rawQuery == "" {
		return false
	}
	q, err := url.ParseQuery(rawQuery) // on a bad escape, q still holds the pairs that parsed
	for k := range q {
		if strings.EqualFold(k, "access_token") {
			return true
		}
	}
	// Unparsable somewhere: look for the name itself, too.
	return err != nil && strings.Contains(strings.ToLower(rawQuery), "access_token")
}
