package iampolicy

import (
	"fmt"
	"strings"
)

// A pattern is a policy string compiled once: literal text in which '*' and '?' may be
// wildcards, interleaved with policy variables that are resolved per request. Substituted
// values are always literal, so a tag value of "*" can never widen a match.
type pattern struct {
	raw   string
	parts []patPart // nil when raw has no variables: then raw itself is the whole pattern
}

type patPart struct {
	text   string // literal text (wild) or escaped literal (!wild); for variables, the default
	key    string // lower-cased context key of a variable; "" for text parts
	wild   bool   // '*' and '?' in text are wildcards
	def    bool   // the variable has a default value (in text)
	global bool   // key is a global condition key (saves a lookup per evaluation)
}

// maxParts bounds the stack buffer used to resolve a pattern without allocating.
const maxParts = 16

// compilePattern parses raw. With vars false (Version 2008-10-17, or an element where AWS
// substitutes nothing) "${…}" is plain text.
func compilePattern(raw string, vars bool) (pattern, error) {
	if !vars || !strings.Contains(raw, "${") {
		return pattern{raw: raw}, nil
	}
	p := pattern{raw: raw}
	rest := raw
	for rest != "" {
		i := strings.Index(rest, "${")
		if i < 0 {
			p.parts = append(p.parts, patPart{text: rest, wild: true})
			break
		}
		if i > 0 {
			p.parts = append(p.parts, patPart{text: rest[:i], wild: true})
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return pattern{}, fmt.Errorf("policy variable %q has no closing '}'", rest[i:])
		}
		body := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		switch body {
		case "*", "?", "$":
			p.parts = append(p.parts, patPart{text: body})
			continue
		}
		part, err := parseVariable(body)
		if err != nil {
			return pattern{}, err
		}
		p.parts = append(p.parts, part)
	}
	if len(p.parts) > maxParts {
		return pattern{}, fmt.Errorf("%q has more than %d variables and literals", raw, maxParts)
	}
	return p, nil
}

// parseVariable reads "aws:PrincipalTag/team" or "aws:PrincipalTag/team, 'default'".
func parseVariable(body string) (patPart, error) {
	key, def, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " ${'") {
		return patPart{}, fmt.Errorf("policy variable ${%s} is not a condition key name", body)
	}
	part := patPart{key: strings.ToLower(key)}
	part.global = isGlobalKey(part.key)
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return patPart{}, fmt.Errorf("policy variable ${%s}: a default value must be in single quotes, as in ${%s, 'value'}", body, key)
		}
		part.text, part.def = def[1:len(def)-1], true
	}
	return part, nil
}

func (p pattern) hasVars() bool { return p.parts != nil }

// resolve turns the pattern into literal tokens for one request. ok is false when a variable
// has no value (and no default): AWS then treats the element as not matching.
func (p pattern) resolve(ec *evalCtx, buf *[maxParts]patPart) (toks []patPart, ok bool) {
	if p.parts == nil {
		buf[0] = patPart{text: p.raw, wild: true}
		return buf[:1], true
	}
	toks = buf[:0]
	for _, part := range p.parts {
		if part.key == "" {
			toks = append(toks, part)
			continue
		}
		v, found := ec.single(part.key, part.global)
		switch {
		case found:
			toks = append(toks, patPart{text: v})
		case part.def:
			toks = append(toks, patPart{text: part.text})
		default:
			return nil, false
		}
	}
	return toks, true
}

// matchTokens reports whether s matches the token sequence. In wild tokens '*' matches any run
// of bytes (including ':' and '/') and '?' exactly one; other tokens match literally. fold
// compares ASCII letters case-insensitively.
func matchTokens(toks []patPart, s string, fold bool) bool {
	ti, pi, si := 0, 0, 0
	// Compare the literal head in bulk: most patterns are a long literal and one trailing '*'.
	for ti < len(toks) {
		t := toks[ti].text
		n := len(t)
		if toks[ti].wild {
			if i := strings.IndexAny(t, "*?"); i >= 0 {
				n = i
			}
		}
		if n > len(s)-si || !sameString(t[:n], s[si:si+n], fold) {
			return false
		}
		si += n
		if n < len(t) {
			pi = n
			break
		}
		ti++
	}
	starTi, starPi, starSi := -1, 0, 0
	for si < len(s) {
		for ti < len(toks) && pi == len(toks[ti].text) {
			ti, pi = ti+1, 0
		}
		if ti < len(toks) {
			c, wild := toks[ti].text[pi], toks[ti].wild
			if wild && c == '*' {
				starTi, starPi, starSi = ti, pi+1, si
				pi++
				continue
			}
			if (wild && c == '?') || sameByte(c, s[si], fold) {
				pi++
				si++
				continue
			}
		}
		if starTi < 0 {
			return false
		}
		starSi++
		ti, pi, si = starTi, starPi, starSi
	}
	for ; ti < len(toks); ti, pi = ti+1, 0 {
		for ; pi < len(toks[ti].text); pi++ {
			if !toks[ti].wild || toks[ti].text[pi] != '*' {
				return false
			}
		}
	}
	return true
}

// equalTokens reports whether s equals the concatenation of toks, with no wildcards.
func equalTokens(toks []patPart, s string, fold bool) bool {
	for _, t := range toks {
		if len(s) < len(t.text) {
			return false
		}
		head := s[:len(t.text)]
		if fold {
			if !strings.EqualFold(head, t.text) {
				return false
			}
		} else if head != t.text {
			return false
		}
		s = s[len(t.text):]
	}
	return s == ""
}

func sameString(a, b string, fold bool) bool {
	if fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

func sameByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	return fold && lowerByte(a) == lowerByte(b)
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// globMatch matches s against a plain wildcard pattern.
func globMatch(pat, s string, fold bool) bool {
	toks := [1]patPart{{text: pat, wild: true}}
	return matchTokens(toks[:], s, fold)
}
