package mcpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The headers the gateway injects after its authorizer has decided who the caller is. They are
// the server's only source of identity: no other request header (Authorization included) is
// read for it.
const (
	// HeaderDecidedRole is the ARN of the IAM role the authorizer decided for the caller.
	HeaderDecidedRole = "X-Decided-Role"
	// HeaderSourceIdentity is the caller's STS source identity, e.g. "usr-00u8c2d9".
	HeaderSourceIdentity = "X-Source-Identity"
	// HeaderSessionTags are the session tags, as JSON: [{"Key":"tenant","Value":"acme"}] or
	// {"tenant":"acme"}.
	HeaderSessionTags = "X-Session-Tags"
	// HeaderLimits are optional per-user limits, as JSON:
	// {"requestsPerMinute":60,"sessionSeconds":900}.
	HeaderLimits = "X-Limits"
)

// TenantTag is the session tag whose value names the caller's tenant.
const TenantTag = "tenant"

// Limits on what the gateway may ask for, from STS's AssumeRole rules.
const (
	DefaultSessionSeconds = 900
	MinSessionSeconds     = 900
	MaxSessionSeconds     = 43200
	MaxRequestsPerMinute  = 100000
	maxTags               = 50
	maxTagKeyChars        = 128
	maxTagValueChars      = 256
	maxTagsHeaderBytes    = 16 << 10
	maxLimitsHeaderBytes  = 256
	maxRoleARNBytes       = 2048
	minRoleARNBytes       = 20
)

// Tag is one STS session tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Limits are the per-user limits of x-limits.
type Limits struct {
	// RequestsPerMinute caps the user's HTTP requests to the MCP endpoint; 0 means no limit
	// (the header omitted the field).
	RequestsPerMinute int
	// SessionSeconds is the DurationSeconds of the user's AssumeRole (default 900).
	SessionSeconds int
}

// Identity is what the gateway decided about one request, validated.
type Identity struct {
	// RoleARN is the role to assume (x-decided-role).
	RoleARN string
	// SourceIdentity is the STS source identity (x-source-identity); it is also the session name.
	SourceIdentity string
	// Tags are the session tags (x-session-tags), in the order received.
	Tags []Tag
	// Tenant is the value of the "tenant" tag.
	Tenant string
	// Limits come from x-limits, or are the defaults when it is absent.
	Limits Limits
}

// HeaderError says which gateway header is missing or malformed, and which rule it breaks.
type HeaderError struct {
	// Header is the header's canonical name, e.g. "X-Decided-Role".
	Header string
	// Missing is true when the header is absent, false when its value is malformed.
	Missing bool
	// Rule says what is wrong, e.g. `must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`.
	Rule string
}

func (e *HeaderError) Error() string {
	if e.Missing {
		return fmt.Sprintf("header %s is missing: %s", strings.ToLower(e.Header), e.Rule)
	}
	return fmt.Sprintf("header %s is malformed: %s", strings.ToLower(e.Header), e.Rule)
}

// Code is the short machine-readable reason: "missing_header" or "malformed_header".
func (e *HeaderError) Code() string {
	if e.Missing {
		return "missing_header"
	}
	return "malformed_header"
}

// The header rules are matched by hand, one pass and no allocation each, rather than by
// regular expressions (a tenth of the server's own work per request); TestHeaderMatchersAgree
// and FuzzHeaderMatchersAgree hold each to the expression written beside it, which is the rule.

// isRoleARN: `^arn:aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::[0-9]{12}:role/(?:[!-~]*/)?[\w+=,.@-]{1,64}$`,
// an IAM role ARN: partition, 12-digit account, optional path, role name.
func isRoleARN(v string) bool {
	rest, ok := strings.CutPrefix(v, "arn:aws")
	if !ok {
		return false
	}
	if !strings.HasPrefix(rest, ":") {
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			return false
		}
		switch rest[:i] {
		case "-cn", "-us-gov", "-iso", "-iso-b", "-iso-e", "-iso-f", "-eusc":
		default:
			return false
		}
		rest = rest[i:]
	}
	if rest, ok = strings.CutPrefix(rest, ":iam::"); !ok || len(rest) < 12 {
		return false
	}
	for i := range 12 {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	if rest, ok = strings.CutPrefix(rest[12:], ":role/"); !ok {
		return false
	}
	// The name cannot hold '/', so it is what follows the last one; the path before it is
	// printable ASCII.
	name := rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		for j := range i {
			if rest[j] < '!' || rest[j] > '~' {
				return false
			}
		}
		name = rest[i+1:]
	}
	return len(name) >= 1 && len(name) <= 64 && allSTSNameChars(name)
}

// isSourceIdentity: `^[\w+=,.@-]{2,64}$`, STS's pattern for SourceIdentity and
// RoleSessionName, with their 2..64 length.
func isSourceIdentity(v string) bool {
	return len(v) >= 2 && len(v) <= 64 && allSTSNameChars(v)
}

// allSTSNameChars: every byte is in [\w+=,.@-] (\w is ASCII letters, digits and '_').
func allSTSNameChars(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			return false
		}
	}
	return true
}

// tagCharsPattern is STS's character class for tag keys and values; isTagChars matches ASCII
// by hand and leaves the rest to it.
var tagCharsPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func isTagChars(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf {
			return tagCharsPattern.MatchString(v)
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" _.:/=+-@", c) >= 0) {
			return false
		}
	}
	return true
}

// isTenant: `^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`. A tenant becomes part of a bucket name:
// lower-case letters, digits and inner hyphens.
func isTenant(v string) bool {
	if len(v) < 1 || len(v) > 40 || v[0] == '-' || v[len(v)-1] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isPlainInteger: `^(?:0|[1-9][0-9]{0,9})$`.
func isPlainInteger(v string) bool {
	if len(v) < 1 || len(v) > 10 || len(v) > 1 && v[0] == '0' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

const tenantRule = `must be 1-40 lower-case letters, digits or inner hyphens (it becomes part of a bucket name)`

// ParseIdentity reads the gateway's headers from h. Every problem is reported, each as a
// *HeaderError (joined with errors.Join); a request with any problem must be refused.
func ParseIdentity(h http.Header) (Identity, error) {
	var id Identity
	var errs []error
	fail := func(err error) { errs = append(errs, err) }

	if v, err := single(h, HeaderDecidedRole, "the gateway must inject the role ARN its authorizer decided; there is no default role"); err != nil {
		fail(err)
	} else if id.RoleARN, err = parseRoleARN(v); err != nil {
		fail(malformed(HeaderDecidedRole, err.Error()))
	}
	if v, err := single(h, HeaderSourceIdentity, "the gateway must inject the caller's source identity (usr-...)"); err != nil {
		fail(err)
	} else if id.SourceIdentity, err = parseSourceIdentity(v); err != nil {
		fail(malformed(HeaderSourceIdentity, err.Error()))
	}
	if v, err := single(h, HeaderSessionTags, `the gateway must inject the session tags, at least {"tenant":"<tenant>"}`); err != nil {
		fail(err)
	} else if id.Tags, id.Tenant, err = headerMemo.sessionTags(v); err != nil {
		fail(malformed(HeaderSessionTags, err.Error()))
	}
	id.Limits = Limits{SessionSeconds: DefaultSessionSeconds}
	if _, present := h[http.CanonicalHeaderKey(HeaderLimits)]; present {
		if v, err := single(h, HeaderLimits, ""); err != nil {
			fail(err)
		} else if id.Limits, err = headerMemo.limits(v); err != nil {
			fail(malformed(HeaderLimits, err.Error()))
		}
	}
	if len(errs) > 0 {
		return Identity{}, errors.Join(errs...)
	}
	return id, nil
}

// maxMemoizedHeaders bounds each of parsedHeaders' maps.
const maxMemoizedHeaders = 4096

// parsedHeaders remembers what parseSessionTags and parseLimits made of the values they
// accepted: the gateway sends each user the same values on every request, and decoding them
// strictly was most of ParseIdentity's work. Both are pure functions of the value, so an answer
// from here is the one parsing would give; a refused value is parsed again each time (and its
// error said again). A map that reaches maxMemoizedHeaders entries is emptied, so that no
// stream of distinct values makes it grow without bound.
type parsedHeaders struct {
	mu        sync.Mutex
	tagSets   map[string]parsedTags
	limitSets map[string]Limits
}

type parsedTags struct {
	tags   []Tag // never handed out: callers get a copy
	tenant string
}

var headerMemo = &parsedHeaders{tagSets: map[string]parsedTags{}, limitSets: map[string]Limits{}}

func (m *parsedHeaders) sessionTags(v string) ([]Tag, string, error) {
	m.mu.Lock()
	p, ok := m.tagSets[v]
	m.mu.Unlock()
	if ok {
		return slices.Clone(p.tags), p.tenant, nil
	}
	tags, tenant, err := parseSessionTags(v)
	if err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	if len(m.tagSets) >= maxMemoizedHeaders {
		clear(m.tagSets)
	}
	m.tagSets[v] = parsedTags{tags: slices.Clone(tags), tenant: tenant}
	m.mu.Unlock()
	return tags, tenant, nil
}

func (m *parsedHeaders) limits(v string) (Limits, error) {
	m.mu.Lock()
	l, ok := m.limitSets[v]
	m.mu.Unlock()
	if ok {
		return l, nil
	}
	l, err := parseLimits(v)
	if err != nil {
		return l, err
	}
	m.mu.Lock()
	if len(m.limitSets) >= maxMemoizedHeaders {
		clear(m.limitSets)
	}
	m.limitSets[v] = l
	m.mu.Unlock()
	return l, nil
}

// single returns the one value of header name, or a *HeaderError when it is absent, empty or
// repeated (two values could be read differently by the gateway and by us).
func single(h http.Header, name, missingRule string) (string, error) {
	values := h.Values(name)
	switch {
	case len(values) == 0:
		return "", &HeaderError{Header: name, Missing: true, Rule: missingRule}
	case len(values) > 1:
		return "", malformed(name, fmt.Sprintf("appears %d times; the gateway must send it exactly once", len(values)))
	case strings.TrimSpace(values[0]) == "":
		return "", malformed(name, "is empty")
	}
	return values[0], nil
}

func malformed(name, rule string) *HeaderError { return &HeaderError{Header: name, Rule: rule} }

func parseRoleARN(v string) (string, error) {
	if len(v) < minRoleARNBytes || len(v) > maxRoleARNBytes {
		return "", fmt.Errorf("%s must be %d-%d characters, got %d", quote(v), minRoleARNBytes, maxRoleARNBytes, len(v))
	}
	if !isRoleARN(v) {
		return "", fmt.Errorf("%s must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/[<path>/]<name>", quote(v))
	}
	return v, nil
}

func parseSourceIdentity(v string) (string, error) {
	if !isSourceIdentity(v) {
		return "", fmt.Errorf("%s must be 2-64 characters of letters, digits and _+=,.@- (STS's SourceIdentity rule)", quote(v))
	}
	// STS also forbids the aws: prefix; the pattern already excludes ':'.
	return v, nil
}

// parseSessionTags accepts the list form STS takes, [{"Key":"tenant","Value":"acme"}], and the
// object form {"tenant":"acme"}. Both are decoded strictly: exact field names, string values
// only, no duplicate keys (compared case-insensitively, as STS does), nothing after the value.
func parseSessionTags(v string) ([]Tag, string, error) {
	if len(v) > maxTagsHeaderBytes {
		return nil, "", fmt.Errorf("is %d bytes, over the %d-byte limit", len(v), maxTagsHeaderBytes)
	}
	if !utf8.ValidString(v) {
		return nil, "", errors.New("is not valid UTF-8")
	}
	if !json.Valid([]byte(v)) {
		return nil, "", errors.New(`must be JSON, [{"Key":"tenant","Value":"acme"}] or {"tenant":"acme"}; it is not valid JSON`)
	}
	dec := json.NewDecoder(strings.NewReader(v))
	first, err := dec.Token()
	if err != nil {
		return nil, "", fmt.Errorf(`must be JSON, [{"Key":"tenant","Value":"acme"}] or {"tenant":"acme"}: %v`, err)
	}
	var tags []Tag
	switch first {
	case json.Delim('['):
		tags, err = tagList(dec)
	case json.Delim('{'):
		tags, err = tagObject(dec)
	default:
		err = errors.New(`must be a JSON list [{"Key":"tenant","Value":"acme"}] or object {"tenant":"acme"}`)
	}
	if err == nil {
		err = endOfJSON(dec)
	}
	if err != nil {
		return nil, "", err
	}
	if err := checkTags(tags); err != nil {
		return nil, "", err
	}
	i := slices.IndexFunc(tags, func(t Tag) bool { return t.Key == TenantTag })
	if i < 0 {
		return nil, "", fmt.Errorf(`has no %q tag (exactly that key, lower case); the tenant decides the bucket`, TenantTag)
	}
	tenant := tags[i].Value
	if !isTenant(tenant) {
		return nil, "", fmt.Errorf("tenant %s %s", quote(tenant), tenantRule)
	}
	return tags, tenant, nil
}

func tagList(dec *json.Decoder) ([]Tag, error) {
	tags := []Tag{}
	for i := 0; dec.More(); i++ {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return nil, fmt.Errorf(`element %d must be an object {"Key":"...","Value":"..."}`, i)
		}
		fields := map[string]string{}
		for dec.More() {
			name, value, err := stringMember(dec)
			if err != nil {
				return nil, fmt.Errorf("element %d: %v", i, err)
			}
			if name != "Key" && name != "Value" {
				return nil, fmt.Errorf(`element %d: field %q is not allowed; the fields are exactly "Key" and "Value"`, i, name)
			}
			if _, dup := fields[name]; dup {
				return nil, fmt.Errorf("element %d: field %q appears twice", i, name)
			}
			fields[name] = value
		}
		if _, err := dec.Token(); err != nil { // the closing '}'
			return nil, fmt.Errorf("element %d: %v", i, err)
		}
		key, hasKey := fields["Key"]
		value, hasValue := fields["Value"]
		if !hasKey || !hasValue {
			return nil, fmt.Errorf(`element %d must have both "Key" and "Value"`, i)
		}
		tags = append(tags, Tag{Key: key, Value: value})
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, err
	}
	return tags, nil
}

func tagObject(dec *json.Decoder) ([]Tag, error) {
	tags := []Tag{}
	for dec.More() {
		key, value, err := stringMember(dec)
		if err != nil {
			return nil, err
		}
		tags = append(tags, Tag{Key: key, Value: value})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	return tags, nil
}

// stringMember reads one "name": "value" member whose value must be a JSON string.
func stringMember(dec *json.Decoder) (string, string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", "", err
	}
	name, _ := tok.(string) // inside an object the decoder only yields string names
	tok, err = dec.Token()
	if err != nil {
		return "", "", err
	}
	value, ok := tok.(string)
	if !ok {
		return "", "", fmt.Errorf("the value of %q must be a JSON string", name)
	}
	return name, value, nil
}

func endOfJSON(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("has data after the JSON value")
	}
	return nil
}

// checkTags applies STS's rules for Tags.
func checkTags(tags []Tag) error {
	if len(tags) == 0 {
		return errors.New("holds no tags; at least the tenant tag is required")
	}
	if len(tags) > maxTags {
		return fmt.Errorf("holds %d tags; STS takes at most %d", len(tags), maxTags)
	}
	seen := map[string]string{}
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > maxTagKeyChars || !isTagChars(t.Key) {
			return fmt.Errorf("tag key %s must be 1-%d letters, digits, spaces or _.:/=+-@", quote(t.Key), maxTagKeyChars)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return fmt.Errorf("tag key %s must not start with aws: (reserved by AWS)", quote(t.Key))
		}
		if n := utf8.RuneCountInString(t.Value); n > maxTagValueChars || !isTagChars(t.Value) {
			return fmt.Errorf("the value of tag %s must be 0-%d letters, digits, spaces or _.:/=+-@", quote(t.Key), maxTagValueChars)
		}
		lower := strings.ToLower(t.Key)
		if prev, dup := seen[lower]; dup {
			return fmt.Errorf("tag keys %s and %s are the same key (STS compares tag keys case-insensitively)", quote(prev), quote(t.Key))
		}
		seen[lower] = t.Key
	}
	return nil
}

// parseLimits decodes {"requestsPerMinute":N,"sessionSeconds":N}: both fields optional, both
// plain integers in range, no other fields, no duplicates.
func parseLimits(v string) (Limits, error) {
	l := Limits{SessionSeconds: DefaultSessionSeconds}
	if len(v) > maxLimitsHeaderBytes {
		return l, fmt.Errorf("is %d bytes, over the %d-byte limit", len(v), maxLimitsHeaderBytes)
	}
	const shape = `must be a JSON object such as {"requestsPerMinute":60,"sessionSeconds":900}`
	if !json.Valid([]byte(v)) {
		return l, errors.New(shape + "; it is not valid JSON")
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return l, errors.New(shape)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return l, fmt.Errorf("%s: %v", shape, err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return l, fmt.Errorf("field %q appears twice", name)
		}
		seen[name] = true
		if tok, err = dec.Token(); err != nil {
			return l, fmt.Errorf("%s: %v", shape, err)
		}
		num, ok := tok.(json.Number)
		switch name {
		case "requestsPerMinute":
			n, err := integer(num, ok, 1, MaxRequestsPerMinute)
			if err != nil {
				return l, fmt.Errorf("requestsPerMinute %v (omit the field for no limit)", err)
			}
			l.RequestsPerMinute = n
		case "sessionSeconds":
			n, err := integer(num, ok, MinSessionSeconds, MaxSessionSeconds)
			if err != nil {
				return l, fmt.Errorf("sessionSeconds %v (STS's DurationSeconds range)", err)
			}
			l.SessionSeconds = n
		default:
			return l, fmt.Errorf(`field %q is unknown; the fields are "requestsPerMinute" and "sessionSeconds"`, name)
		}
	}
	if _, err := dec.Token(); err != nil {
		return l, fmt.Errorf("%s: %v", shape, err)
	}
	return l, endOfJSON(dec)
}

func integer(num json.Number, isNumber bool, lo, hi int) (int, error) {
	if !isNumber || !isPlainInteger(string(num)) {
		return 0, fmt.Errorf("must be a whole number from %d to %d", lo, hi)
	}
	n, err := strconv.Atoi(string(num))
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("must be from %d to %d, got %s", lo, hi, num)
	}
	return n, nil
}

// quote shows a header value in an error, shortened so that a huge value cannot flood logs.
func quote(v string) string {
	const max = 80
	if len(v) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		return strconv.Quote(v[:cut]) + "…"
	}
	return strconv.Quote(v)
}
