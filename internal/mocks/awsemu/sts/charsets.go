package sts

import "unicode"

// The character classes of STS's input constraints (the AssumeRole API reference's patterns),
// checked a character at a time: AssumeRole checks them on every call, and a regular expression
// match was most of parsing its input. FuzzCharsetsMatchThePatterns holds each to its pattern.

// sessionNameChars: [\w+=,.@-]* (RoleSessionName, SourceIdentity).
func sessionNameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !wordChar(s[i]) && !isAnyOf(s[i], "+=,.@-") {
			return false
		}
	}
	return true
}

// externalIDChars: [\w+=,.@:/-]*.
func externalIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !wordChar(s[i]) && !isAnyOf(s[i], "+=,.@:/-") {
			return false
		}
	}
	return true
}

// tagChars: [\p{L}\p{Z}\p{N}_.:/=+\-@]*. A byte that is not UTF-8 reads as U+FFFD, a symbol.
func tagChars(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.In(r, unicode.Z, unicode.N) && (r >= 0x80 || !isAnyOf(byte(r), "_.:/=+-@")) {
			return false
		}
	}
	return true
}

// roleARNChars: [\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+.
// A byte that is not UTF-8 reads as U+FFFD, which the class holds.
func roleARNChars(s string) bool {
	for _, r := range s {
		switch {
		case r == 0x09, r == 0x0A, r == 0x0D, r >= 0x20 && r <= 0x7E, r == 0x85,
			r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return s != ""
}

// policyChars: [\u0009\u000A\u000D\u0020-\u00FF]+.
func policyChars(s string) bool {
	for _, r := range s {
		if r != 0x09 && r != 0x0A && r != 0x0D && (r < 0x20 || r > 0xFF) {
			return false
		}
	}
	return s != ""
}

// wordChar is \w: an ASCII letter, digit or underscore.
func wordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isAnyOf(c byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}
