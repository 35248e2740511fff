package authorizer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

const storeYAML = `
mappings:
  - sub: 00u8c2d9qkL4mT7xw5d7
    roleArn: arn:aws:iam::111122223333:role/quilt-mcp-target-acme
    tags: {tenant: acme}
    limits: {requestsPerMinute: 120, sessionSeconds: 900}
  - sub: multi-tenant-user
    tenant: globex
    roleArn: arn:aws:iam::111122223333:role/quilt-mcp-target-globex
    tags: {tenant: globex, team: red}
  - sub: multi-tenant-user
    roleArn: arn:aws:iam::111122223333:role/quilt-mcp-target-acme
    tags: {tenant: acme}
`

func TestTheYAMLStoreLooksUpBySubjectAndTenant(t *testing.T) {
	s, err := authorizer.ParseStoreYAML([]byte(storeYAML))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name, sub, tenant, role string
		unknown                 bool
	}{
		{"a subject's tenant-less entry answers a token without a tenant", "00u8c2d9qkL4mT7xw5d7", "", "quilt-mcp-target-acme", false},
		{"a subject's tenant-less entry answers any tenant claim", "00u8c2d9qkL4mT7xw5d7", "globex", "quilt-mcp-target-acme", false},
		{"an entry for the token's tenant wins over the tenant-less one", "multi-tenant-user", "globex", "quilt-mcp-target-globex", false},
		{"another tenant falls back to the tenant-less entry", "multi-tenant-user", "initech", "quilt-mcp-target-acme", false},
		{"an unknown subject is ErrNoMapping", "nobody", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := s.Lookup(ctx, tc.sub, tc.tenant)
			if tc.unknown {
				if !errors.Is(err, authorizer.ErrNoMapping) {
					t.Fatalf("error %v, want ErrNoMapping", err)
				}
				return
			}
			if err != nil || !strings.HasSuffix(m.RoleARN, "role/"+tc.role) {
				t.Fatalf("mapping %+v, %v; want role %s", m, err, tc.role)
			}
		})
	}
	m, _ := s.Lookup(ctx, "00u8c2d9qkL4mT7xw5d7", "")
	m.Tags["tenant"] = "changed"
	if again, _ := s.Lookup(ctx, "00u8c2d9qkL4mT7xw5d7", ""); again.Tags["tenant"] != "acme" {
		t.Error("a caller changed the store through a returned map")
	}
}

func TestABadRoleStoreIsRefusedNamingTheFieldAndRule(t *testing.T) {
	entry := func(body string) string {
		return "mappings:\n  - sub: s1\n    roleArn: arn:aws:iam::111122223333:role/r\n" + body
	}
	tests := []struct{ name, yaml, want string }{
		{"an unknown top-level field is refused", "mapings: []\n", "unknown field"},
		{"an unknown entry field is refused", entry("    rolearn: x\n"), "unknown field"},
		{"a duplicate key is refused", entry("    tags: {tenant: acme}\n    tags: {tenant: acme}\n"), "already defined"},
		{"an empty store is refused", "mappings: []\n", "at least one mapping"},
		{"a missing subject is refused", "mappings:\n  - roleArn: arn:aws:iam::111122223333:role/r\n", "mappings[0].sub: the subject is required"},
		{"a role that is not an IAM role ARN is refused", "mappings:\n  - sub: s1\n    roleArn: arn:aws:iam::1111:user/x\n", "mappings[0].roleArn"},
		{"an unsafe tenant tag is refused", entry("    tags: {tenant: \"../x\"}\n"), "mappings[0].tags.tenant"},
		{"a capitalised tenant key is refused", entry("    tags: {Tenant: acme}\n"), `spelled "tenant"`},
		{"an aws: tag key is refused", entry("    tags: {\"aws:x\": y}\n"), "must not start with aws:"},
		{"a tag value outside STS's characters is refused", entry("    tags: {team: \"a*b\"}\n"), "tags.team"},
		{"a session below 900 seconds is refused", entry("    limits: {sessionSeconds: 60}\n"), "limits.sessionSeconds"},
		{"a negative request limit is refused", entry("    limits: {requestsPerMinute: -1}\n"), "limits.requestsPerMinute"},
		{"an unsafe entry tenant is refused", entry("    tenant: ACME\n"), "mappings[0].tenant"},
		{"an entry tenant that contradicts its tag is refused", entry("    tenant: acme\n    tags: {tenant: globex}\n"), "differs from the entry's tenant"},
		{"two entries for one subject and tenant are refused", entry("  - sub: s1\n    roleArn: arn:aws:iam::111122223333:role/r\n"), "two mappings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authorizer.ParseStoreYAML([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestAStoreFileLoadsAndNamesItselfInErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "roles.yaml")
	if err := os.WriteFile(good, []byte(storeYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := authorizer.LoadStoreFile(good); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mappings: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := authorizer.LoadStoreFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("error %v does not name the file", err)
	}
}

// badStore returns a mapping that breaks a rule, as a hand-written store might.
type badStore struct{ m authorizer.Mapping }

func (b badStore) Lookup(context.Context, string, string) (authorizer.Mapping, error) {
	return b.m, nil
}

func TestAnInvalidMappingFromAnyStoreIsDenied(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		m    authorizer.Mapping
	}{
		{"a mapping without a role is denied", authorizer.Mapping{Tags: map[string]string{"tenant": "acme"}}},
		{"a mapping with a user ARN is denied", authorizer.Mapping{RoleARN: "arn:aws:iam::111122223333:user/alice"}},
		{"a mapping with an unsafe tenant tag is denied", authorizer.Mapping{RoleARN: "arn:aws:iam::111122223333:role/r", Tags: map[string]string{"tenant": "*"}}},
		{"a mapping with fifty tags and no tenant leaves no room for the tenant", authorizer.Mapping{RoleARN: "arn:aws:iam::111122223333:role/r", Tags: fiftyTags()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.authorizer(t, authorizer.WithRoleStore(badStore{tc.m}))
			d, err := a.Decide(context.Background(), bearer(e.token(t, "alice")))
			if err != nil || d.Allow || d.Reason != authorizer.ReasonInvalidMapping {
				t.Fatalf("decision %v %s (%s), %v; want invalid_mapping", d.Allow, d.Reason, d.Detail, err)
			}
		})
	}
}

func fiftyTags() map[string]string {
	m := map[string]string{}
	for i := range 50 {
		m[strings.Repeat("k", i+1)] = "v"
	}
	return m
}
