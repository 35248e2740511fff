package sts

import (
	"regexp"
	"testing"
)

// The patterns of the AssumeRole API reference, as regular expressions: what the character
// checks must agree with.
var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	tagPattern         = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	roleARNPattern     = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{0085}\x{00A0}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}]+$`)
	policyCharsPattern = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
)

var charsetSeeds = []string{
	"", "alice", "usr-alice@example.com", "a b", "a\tb", "a\nb", "arn:aws:iam::111122223333:role/app", "tenant=acme",
	"ключ", "键", "٣", "\u00a0", "\u2028", "\u0085", "\ufffd", "\ud7ff", "\ue000", "\U0001f600", "\x00", "\x7f", "\xff", "\xc3",
	"a\x80b", "_.:/=+-@", "+=,.@-", "é", "ÿ", "Ā", `{"Version":"2012-10-17"}`, "a;b", "a*b", "a\rb",
}

func FuzzCharsetsMatchThePatterns(f *testing.F) {
	for _, s := range charsetSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			name    string
			got     bool
			pattern *regexp.Regexp
		}{
			{"sessionNameChars", sessionNameChars(s), sessionNamePattern},
			{"externalIDChars", externalIDChars(s), externalIDPattern},
			{"tagChars", tagChars(s), tagPattern},
			{"roleARNChars", roleARNChars(s), roleARNPattern},
			{"policyChars", policyChars(s), policyCharsPattern},
		} {
			if want := c.pattern.MatchString(s); c.got != want {
				t.Errorf("%s(%q) = %v, the pattern says %v", c.name, s, c.got, want)
			}
		}
	})
}
