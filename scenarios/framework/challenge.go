package framework

import (
	"fmt"
	"strings"
)

// Challenge is one parsed WWW-Authenticate challenge (RFC 9110 §11.6.1).
type Challenge struct {
	Scheme string
	// Params are the auth-params, names lower-cased, quoted values unquoted.
	Params map[string]string
}

// ParseChallenge parses the first challenge of a WWW-Authenticate value: a scheme, then
// comma-separated auth-params whose values are tokens or quoted strings. A token68 credential
// or a second challenge ends it.
func ParseChallenge(s string) (Challenge, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	scheme := s
	if i >= 0 {
		scheme = s[:i]
	}
	if scheme == "" || !isHTTPToken(scheme) {
		return Challenge{}, fmt.Errorf("challenge %q: no auth-scheme", s)
	}
	ch := Challenge{Scheme: scheme, Params: map[string]string{}}
	if i < 0 {
		return ch, nil
	}
	rest := s[i:]
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return ch, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return ch, nil // token68 or a new challenge
		}
		name := strings.TrimSpace(rest[:eq])
		if !isHTTPToken(name) {
			return ch, nil // a new challenge: "Scheme param=…"
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		if rest == "" || rest[0] == '=' || rest[0] == ',' {
			return ch, nil // a token68 ending in "=" padding: an auth-param's value is never empty
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
				}
				b.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return Challenge{}, fmt.Errorf("challenge %q: unterminated quoted string in %s", s, name)
			}
			value, rest = b.String(), rest[j+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
		}
		ch.Params[strings.ToLower(name)] = value
	}
}

// isHTTPToken reports whether s is an RFC 9110 token (§5.6.2): no controls, spaces or delimiters.
func isHTTPToken(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return s != ""
}
