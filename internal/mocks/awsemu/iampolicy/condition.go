package iampolicy

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	famString family = iota
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn
	famNull
)

type setQualifier uint8

const (
	setNone setQualifier = iota
	setForAll
	setForAny
)

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// operator is a parsed condition operator such as "ForAllValues:StringLikeIfExists".
type operator struct {
	name     string // as written in the policy
	fam      family
	negated  bool
	fold     bool // StringEqualsIgnoreCase and friends
	like     bool // '*' and '?' are wildcards
	cmp      cmpOp
	ifExists bool
	set      setQualifier
}

type baseOp struct {
	fam     family
	negated bool
	fold    bool
	like    bool
	cmp     cmpOp
}

// baseOperators lists every condition operator of the IAM User Guide
// (reference_policies_elements_condition_operators), without IfExists or set qualifiers.
var baseOperators = map[string]baseOp{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famString, fold: true},
	"StringNotEqualsIgnoreCase": {fam: famString, negated: true, fold: true},
	"StringLike":                {fam: famString, like: true},
	"StringNotLike":             {fam: famString, negated: true, like: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negated: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negated: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"ArnEquals":                 {fam: famArn, like: true},
	"ArnLike":                   {fam: famArn, like: true},
	"ArnNotEquals":              {fam: famArn, negated: true, like: true},
	"ArnNotLike":                {fam: famArn, negated: true, like: true},
	"Null":                      {fam: famNull},
}

// operatorNames is the sorted list used in error messages.
var operatorNames = func() []string {
	names := make([]string, 0, len(baseOperators))
	for n := range baseOperators {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

// parseOperator accepts exactly the spellings IAM accepts (operator names are case-sensitive).
func parseOperator(name string) (operator, error) {
	op := operator{name: name}
	rest := name
	if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		op.set, rest = setForAll, r
	} else if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		op.set, rest = setForAny, r
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists, rest = true, r
	}
	b, ok := baseOperators[rest]
	if !ok {
		return operator{}, fmt.Errorf("unknown condition operator %q (operators are %s, each optionally with IfExists and a ForAllValues: or ForAnyValue: prefix)",
			name, strings.Join(operatorNames, ", "))
	}
	// Null under ForAllValues/ForAnyValue is only a suggestion in IAM Access Analyzer's policy
	// checks, so IAM accepts it; Null tests the key's presence, which the qualifier does not change.
	if b.fam == famNull && op.ifExists {
		return operator{}, fmt.Errorf("condition operator %q is not allowed: Null takes no IfExists (it tests presence itself)", name)
	}
	op.fam, op.negated, op.fold, op.like, op.cmp = b.fam, b.negated, b.fold, b.like, b.cmp
	return op, nil
}

// condValue is one policy value, pre-parsed for its operator family.
type condValue struct {
	raw  string
	pat  pattern      // famString
	arn  [6]pattern   // famArn: one pattern per ARN field
	num  float64      // famNumeric
	t    time.Time    // famDate
	b    bool         // famBool, famNull
	ip   netip.Prefix // famIP
	vars bool         // the value uses policy variables
	// wholeARN: famArn value whose variables span ARN fields; pat holds it whole.
	wholeARN bool
}

// condition is one operator + key + values block of a statement.
type condition struct {
	op     operator
	global bool   // key is a global condition key
	key    string // lower-cased
	keyRaw string
	values []condValue
}

func compileCondition(op operator, key string, raw []string, vars bool) (condition, error) {
	if key == "" {
		return condition{}, fmt.Errorf("%s has an empty condition key", op.name)
	}
	// An empty list is only a suggestion in IAM Access Analyzer's policy checks under
	// ForAllValues, ForAnyValue and …IfExists (IAM accepts the policy): no request value matches
	// it, so such a condition holds only where a missing key or a negated operator makes it hold.
	if len(raw) == 0 && op.set == setNone && !op.ifExists {
		return condition{}, fmt.Errorf("%s %s has no values (an empty list is accepted only with ForAllValues:, ForAnyValue: or …IfExists)", op.name, key)
	}
	c := condition{op: op, key: strings.ToLower(key), keyRaw: key, values: make([]condValue, len(raw))}
	c.global = isGlobalKey(c.key)
	for i, s := range raw {
		v := condValue{raw: s}
		var err error
		switch op.fam {
		case famString:
			v.pat, err = compilePattern(s, vars)
			v.vars = v.pat.hasVars()
		case famArn:
			if vars && strings.Contains(s, "${") && arnFieldCount(s) < 6 {
				// A variable stands for several ARN fields (such as "${aws:PrincipalArn}"): the
				// value is resolved whole and matched against the whole request ARN.
				v.pat, err = compilePattern(s, vars)
				v.vars, v.wholeARN = true, true
				break
			}
			fields := splitARNPattern(s)
			for j, f := range fields {
				if v.arn[j], err = compilePattern(f, vars); err != nil {
					break
				}
				v.vars = v.vars || v.arn[j].hasVars()
			}
		case famNumeric:
			v.num, err = strconv.ParseFloat(s, 64)
			if err != nil {
				err = fmt.Errorf("%s %s: value %q is not a number", op.name, key, s)
			}
		case famDate:
			var ok bool
			if v.t, ok = parseDate(s); !ok {
				err = fmt.Errorf("%s %s: value %q is not a date (ISO 8601 such as 2026-01-02T15:04:05Z, or epoch seconds)", op.name, key, s)
			}
		case famBool, famNull:
			if op.fam == famBool && vars && strings.Contains(s, "${") {
				// Bool accepts policy variables (condition operators page); the value is
				// resolved and read as a boolean at evaluation time.
				v.pat, err = compilePattern(s, vars)
				v.vars = v.pat.hasVars()
				break
			}
			switch strings.ToLower(s) {
			case "true":
				v.b = true
			case "false":
			default:
				err = fmt.Errorf("%s %s: value %q must be true or false", op.name, key, s)
			}
		case famBinary:
			if _, e := base64.StdEncoding.DecodeString(s); e != nil {
				err = fmt.Errorf("%s %s: value %q is not base64", op.name, key, s)
			}
		case famIP:
			v.ip, err = parseIPOrCIDR(s)
			if err != nil {
				err = fmt.Errorf("%s %s: value %q is not an IP address or CIDR block", op.name, key, s)
			}
		}
		if err != nil {
			return condition{}, err
		}
		c.values[i] = v
	}
	return c, nil
}

// splitARNPattern splits an ARN pattern into six fields, ignoring colons inside ${…}.
func splitARNPattern(s string) [6]string {
	var out [6]string
	field, depth, start := 0, 0, 0
	for i := 0; i < len(s) && field < 5; i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			out[field] = s[start:i]
			field++
			start = i + 1
		}
	}
	out[field] = s[start:]
	return out
}

// arnFieldCount counts the colon-separated fields of an ARN pattern outside ${…}, up to six.
func arnFieldCount(s string) int {
	n, depth := 1, 0
	for i := 0; i < len(s) && n < 6; i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			n++
		}
	}
	return n
}

func parseIPOrCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var dateLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05",
	"2006-01-02",
}

func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// eval applies the condition to the request. Semantics (IAM User Guide): values of one key are
// ORed (NORed for negated operators); a missing key is false, except for negated operators
// (true), IfExists (true) and Null; ForAllValues is true for a missing or empty key and
// ForAnyValue false. A policy value whose variable has no value matches nothing (so a negated
// operator holds against it).
func (c *condition) eval(ec *evalCtx) bool {
	rv, present := ec.lookup(c.key, c.global)
	if present && rv.n() == 0 {
		present = false
	}
	if c.op.fam == famNull {
		for i := range c.values {
			if c.values[i].b != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.op.set == setForAll, c.op.ifExists:
			return true
		case c.op.set == setForAny:
			return false
		}
		return c.op.negated
	}
	switch c.op.set {
	case setForAll:
		for i := 0; i < rv.n(); i++ {
			hit, ok := c.matchesAny(ec, rv.at(i))
			if !ok {
				return false
			}
			if hit == c.op.negated {
				return false
			}
		}
		return true
	case setForAny:
		for i := 0; i < rv.n(); i++ {
			hit, ok := c.matchesAny(ec, rv.at(i))
			if !ok {
				return false
			}
			if hit != c.op.negated {
				return true
			}
		}
		return false
	}
	for i := 0; i < rv.n(); i++ {
		hit, ok := c.matchesAny(ec, rv.at(i))
		if !ok {
			return false
		}
		if hit {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// matchesAny reports whether the request value matches some policy value under the positive
// form of the operator. A policy value whose variable has no value is effectively null and
// matches nothing, so a negated operator holds against it (IAM User Guide, "Policy variables
// with no value": "Inverted condition operators like StringNotEquals or StringNotLike do match
// against a null value"). ok is always true; it is kept for the callers' shape.
func (c *condition) matchesAny(ec *evalCtx, s string) (hit, ok bool) {
	for i := range c.values {
		if h, resolved := c.matchOne(ec, &c.values[i], s); resolved && h {
			return true, true
		}
	}
	return false, true
}

func (c *condition) matchOne(ec *evalCtx, v *condValue, s string) (hit, resolved bool) {
	switch c.op.fam {
	case famString:
		var buf [maxParts]patPart
		toks, ok := v.pat.resolve(ec, &buf)
		if !ok {
			return false, false
		}
		if c.op.like {
			return matchTokens(toks, s, c.op.fold), true
		}
		return equalTokens(toks, s, c.op.fold), true
	case famArn:
		if v.wholeARN {
			var buf [maxParts]patPart
			toks, ok := v.pat.resolve(ec, &buf)
			if !ok {
				return false, false
			}
			_, isARN := splitARN(s)
			return isARN && matchTokens(toks, s, false), true
		}
		a, isARN := splitARN(s)
		fields := [6]string{"arn", a.partition, a.service, a.region, a.account, a.resource}
		for j := range v.arn {
			var buf [maxParts]patPart
			toks, ok := v.arn[j].resolve(ec, &buf)
			if !ok {
				return false, false
			}
			if isARN && !matchTokens(toks, fields[j], false) {
				isARN = false
			}
		}
		return isARN, true
	case famNumeric:
		n, err := strconv.ParseFloat(s, 64)
		return err == nil && compare(n, v.num, c.op.cmp), true
	case famDate:
		t, ok := parseDate(s)
		return ok && compareTime(t, v.t, c.op.cmp), true
	case famBool:
		b, err := strconv.ParseBool(s)
		want := v.b
		if v.vars {
			var buf [maxParts]patPart
			toks, ok := v.pat.resolve(ec, &buf)
			if !ok {
				return false, false
			}
			var sb strings.Builder
			for _, t := range toks {
				sb.WriteString(t.text)
			}
			if want, err = strconv.ParseBool(strings.ToLower(sb.String())); err != nil {
				return false, true
			}
			_, err = strconv.ParseBool(s)
		}
		return err == nil && b == want, true
	case famBinary:
		return s == v.raw, true
	case famIP:
		a, err := netip.ParseAddr(s)
		return err == nil && v.ip.Contains(a.Unmap()), true
	}
	return false, true
}

func compare(a, b float64, op cmpOp) bool {
	switch op {
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return a == b
}

func compareTime(a, b time.Time, op cmpOp) bool {
	switch op {
	case cmpLt:
		return a.Before(b)
	case cmpLe:
		return !a.After(b)
	case cmpGt:
		return a.After(b)
	case cmpGe:
		return !a.Before(b)
	}
	return a.Equal(b)
}
