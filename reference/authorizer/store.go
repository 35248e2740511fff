package authorizer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
)

// RoleStore answers which role, session tags and limits a user gets: the tutorial's
// "(user_sub [, tenant/org]) → IAM role + tags/limits" lookup.
type RoleStore interface {
	// Lookup returns the mapping of a subject. tenant is the token's validated tenant claim,
	// or "" when the token has none, so that a store can keep a mapping per tenant for users
	// of several tenants. An unknown user is an error wrapping ErrNoMapping; any other error
	// means the store failed (the decision is then role_store_unavailable).
	Lookup(ctx context.Context, sub, tenant string) (Mapping, error)
}

// ErrNoMapping is the error a RoleStore wraps for a user it has no mapping for.
var ErrNoMapping = errors.New("no role mapping")

// Mapping is what a role store holds for a user.
type Mapping struct {
	// RoleARN is the role the MCP server assumes for the user.
	RoleARN string `yaml:"roleArn"`
	// Tags are the session tags. The key "tenant" (exactly that, lower case) is the tenant;
	// when absent, the token's tenant claim supplies it.
	Tags map[string]string `yaml:"tags"`
	// Limits are passed to the MCP server as x-limits.
	Limits Limits `yaml:"limits"`
}

// Limits on what a mapping may ask for: STS's AssumeRole rules and the MCP server's x-limits.
const (
	maxTags              = 50
	maxTagKeyChars       = 128
	maxTagValueChars     = 256
	minRoleARNBytes      = 20
	maxRoleARNBytes      = 2048
	maxRequestsPerMinute = 100000
	minSessionSeconds    = 900
	maxSessionSeconds    = 43200
	// TenantTag is the session tag that carries the tenant (the trust policy's only tag key).
	TenantTag = "tenant"
)

// Validate checks a mapping against STS's rules and the MCP server's, naming the field and
// the rule. The authorizer validates every mapping a store returns; stores validate on load
// too, so that mistakes surface early.
func (m Mapping) Validate() error {
	if n := len(m.RoleARN); n < minRoleARNBytes || n > maxRoleARNBytes || !isRoleARN(m.RoleARN) {
		return fmt.Errorf("roleArn: %s must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/[<path>/]<name>", quote(m.RoleARN))
	}
	if len(m.Tags) > maxTags {
		return fmt.Errorf("tags: %d tags; STS takes at most %d", len(m.Tags), maxTags)
	}
	seen := map[string]string{}
	for _, k := range sortedKeys(m.Tags) {
		v := m.Tags[k]
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyChars || !tagChars(k) {
			return fmt.Errorf("tags: key %s must be 1-%d letters, digits, spaces or _.:/=+-@ (STS's rule)", quote(k), maxTagKeyChars)
		}
		lower := strings.ToLower(k)
		if strings.HasPrefix(lower, "aws:") {
			return fmt.Errorf("tags: key %s must not start with aws: (reserved by AWS)", quote(k))
		}
		if prev, dup := seen[lower]; dup {
			return fmt.Errorf("tags: keys %s and %s are the same key (STS compares tag keys case-insensitively)", quote(prev), quote(k))
		}
		seen[lower] = k
		if lower == TenantTag && k != TenantTag {
			return fmt.Errorf("tags: key %s must be spelled %q, in lower case (the MCP server and the trust policy read exactly that key)", quote(k), TenantTag)
		}
		if n := utf8.RuneCountInString(v); n > maxTagValueChars || !tagChars(v) {
			return fmt.Errorf("tags.%s: value %s must be 0-%d letters, digits, spaces or _.:/=+-@ (STS's rule)", k, quote(v), maxTagValueChars)
		}
		if k == TenantTag && !ValidTenant(v) {
			return fmt.Errorf("tags.tenant: %s %s", quote(v), TenantRule)
		}
	}
	if r := m.Limits.RequestsPerMinute; r < 0 || r > maxRequestsPerMinute {
		return fmt.Errorf("limits.requestsPerMinute: %d must be 1-%d, or 0 for no limit", r, maxRequestsPerMinute)
	}
	if s := m.Limits.SessionSeconds; s != 0 && (s < minSessionSeconds || s > maxSessionSeconds) {
		return fmt.Errorf("limits.sessionSeconds: %d must be %d-%d (STS's DurationSeconds range), or 0 for the server's default", s, minSessionSeconds, maxSessionSeconds)
	}
	return nil
}

// isRoleARN matches ^arn:aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::[0-9]{12}:role/(?:[!-~]*/)?[\w+=,.@-]{1,64}$
// without a regular expression (every decision validates its
// mapping): a partition, a 12-digit account, then role/, an optional path of printable ASCII
// ending in a slash, and a name of 1-64 of [\w+=,.@-].
func isRoleARN(s string) bool {
	rest, ok := strings.CutPrefix(s, "arn:aws")
	if !ok {
		return false
	}
	if !strings.HasPrefix(rest, ":") {
		part, after, found := strings.Cut(rest, ":")
		switch part {
		case "-cn", "-us-gov", "-iso", "-iso-b", "-iso-e", "-iso-f", "-eusc":
		default:
			return false
		}
		if !found {
			return false
		}
		rest = ":" + after
	}
	rest, ok = strings.CutPrefix(rest, ":iam::")
	if !ok || len(rest) < 12 {
		return false
	}
	for i := range 12 {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	rest, ok = strings.CutPrefix(rest[12:], ":role/")
	if !ok {
		return false
	}
	slash := strings.LastIndexByte(rest, '/')
	name := rest[slash+1:]
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			return false
		}
	}
	for i := 0; i < slash; i++ {
		if rest[i] < '!' || rest[i] > '~' {
			return false
		}
	}
	return true
}

// tagChars matches ^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$ without a regular expression: letters,
// separators (spaces), numbers and _.:/=+-@.
func tagChars(s string) bool {
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.Is(unicode.Z, r) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// StoreEntry is one mapping of a StaticStore (and one item of the YAML file).
type StoreEntry struct {
	// Sub is the token's subject, exactly as the IdP issues it.
	Sub string `yaml:"sub"`
	// Tenant limits the entry to tokens whose tenant claim is this value; "" (omitted) makes
	// it the subject's mapping for any other tenant claim, or none.
	Tenant  string `yaml:"tenant"`
	Mapping `yaml:",inline"`
}

type storeKey struct{ sub, tenant string }

// StaticStore is an in-memory RoleStore: from a YAML file (LoadStoreFile), or built in code
// (NewStaticStore). It is safe for concurrent use and never changes after construction.
type StaticStore struct {
	m map[storeKey]staticEntry
}

// staticEntry is a StaticStore's mapping with its tags as a list sorted by key, the order a
// decision lists them in, built once rather than per decision.
type staticEntry struct {
	Mapping
	sorted []Tag // not nil, even for no tags
}

// NewStaticStore validates the entries and builds a store. A lookup prefers the entry for the
// subject and the token's tenant, then the subject's entry without a tenant.
func NewStaticStore(entries ...StoreEntry) (*StaticStore, error) {
	s := &StaticStore{m: make(map[storeKey]staticEntry, len(entries))}
	for i, e := range entries {
		field := fmt.Sprintf("mappings[%d]", i)
		switch {
		case e.Sub == "":
			return nil, fmt.Errorf("%s.sub: the subject is required", field)
		case checkSubject(e.Sub) != nil:
			return nil, fmt.Errorf("%s.sub: %v", field, checkSubject(e.Sub))
		case e.Tenant != "" && !ValidTenant(e.Tenant):
			return nil, fmt.Errorf("%s.tenant: %s %s", field, quote(e.Tenant), TenantRule)
		}
		if err := e.Mapping.Validate(); err != nil {
			return nil, fmt.Errorf("%s.%w", field, err)
		}
		if t, ok := e.Tags[TenantTag]; ok && e.Tenant != "" && t != e.Tenant {
			return nil, fmt.Errorf("%s.tags.tenant: %s differs from the entry's tenant %s; a mapping for tenant X must tag tenant X", field, quote(t), quote(e.Tenant))
		}
		k := storeKey{e.Sub, e.Tenant}
		if _, dup := s.m[k]; dup {
			return nil, fmt.Errorf("%s: subject %s has two mappings for tenant %s", field, quote(e.Sub), quote(e.Tenant))
		}
		e.Tags = maps.Clone(e.Tags)
		sorted := make([]Tag, 0, len(e.Tags))
		for key, value := range e.Tags {
			sorted = append(sorted, Tag{Key: key, Value: value})
		}
		slices.SortFunc(sorted, compareTagKeys)
		s.m[k] = staticEntry{Mapping: e.Mapping, sorted: sorted}
	}
	return s, nil
}

// Lookup implements RoleStore.
func (s *StaticStore) Lookup(ctx context.Context, sub, tenant string) (Mapping, error) {
	m, _, err := s.lookupShared(ctx, sub, tenant)
	if err != nil {
		return Mapping{}, err
	}
	m.Tags = maps.Clone(m.Tags)
	return m, nil
}

// lookupShared is Lookup without the copy of the tags, which it also returns sorted by key:
// the caller must change neither.
func (s *StaticStore) lookupShared(ctx context.Context, sub, tenant string) (Mapping, []Tag, error) {
	if err := ctx.Err(); err != nil {
		return Mapping{}, nil, err
	}
	e, ok := s.m[storeKey{sub, tenant}]
	if !ok && tenant != "" {
		e, ok = s.m[storeKey{sub, ""}]
	}
	if !ok {
		return Mapping{}, nil, noMapping(sub, tenant)
	}
	return e.Mapping, e.sorted, nil
}

func noMapping(sub, tenant string) error {
	if tenant == "" {
		return fmt.Errorf("%w for subject %s", ErrNoMapping, quote(sub))
	}
	return fmt.Errorf("%w for subject %s with tenant %s", ErrNoMapping, quote(sub), quote(tenant))
}

// storeFile is the YAML role-store format:
//
//	mappings:
//	  - sub: 00u8c2d9qkL4mT7xw5d7
//	    tenant: acme            # optional
//	    roleArn: arn:aws:iam::111122223333:role/quilt-mcp-target-acme
//	    tags: {tenant: acme}
//	    limits: {requestsPerMinute: 120, sessionSeconds: 900}
type storeFile struct {
	Mappings []StoreEntry `yaml:"mappings"`
}

// ParseStoreYAML decodes (strictly: unknown fields and duplicate keys are errors) and
// validates a YAML role store.
func ParseStoreYAML(data []byte) (*StaticStore, error) {
	var f storeFile
	if err := safeUnmarshal(data, &f, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("role store: invalid YAML (unknown fields and duplicate keys are errors):\n%s", yaml.FormatError(err, false, true))
	}
	if len(f.Mappings) == 0 {
		return nil, errors.New("role store: mappings: at least one mapping is required")
	}
	s, err := NewStaticStore(f.Mappings...)
	if err != nil {
		return nil, fmt.Errorf("role store: %w", err)
	}
	return s, nil
}

// LoadStoreFile reads a YAML role store (see ParseStoreYAML).
func LoadStoreFile(path string) (*StaticStore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("role store: %w", err)
	}
	s, err := ParseStoreYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// safeUnmarshal is yaml.UnmarshalWithOptions that turns a panic inside the YAML library into
// an error: its decoder dereferences nil on some tagged scalars (found by fuzzing, e.g.
// "key: !0000 00"), and bad input must get an error, never a crash.
func safeUnmarshal(data []byte, v any, opts ...yaml.DecodeOption) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this input: %v", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, opts...)
}
