package main

import (
	"slices"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
)

// TestDecisionsNameTheDecidingPolicysAddress reads the emulator's decision lines as conform
// --fixture does: a decision naming a policy maps to that policy's source, one naming only a
// resource to the resource's, and lines that are not AWS policy decisions are left out.
func TestDecisionsNameTheDecidingPolicysAddress(t *testing.T) {
	f, err := fixture.Parse([]byte(`
accounts: [{id: "111122223333", name: deployment}]
tenants: [{name: acme, bucket: quilt-tenant-acme}]
users: [{username: alice, sub: "00u1", tenant: acme}]
mappings: [{user: alice, role: quilt-mcp-target-acme, tags: {tenant: acme}}]
taskRole: ecsTaskRole
roles:
  - name: ecsTaskRole
    source: module.mcp.aws_iam_role.task
    trust: {source: module.mcp.aws_iam_role.task, document: {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}}
    inline:
      - {name: assume-target-roles, source: module.mcp.aws_iam_role_policy.task, document: {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}}
  - name: quilt-mcp-target-acme
    source: 'module.mcp.aws_iam_role.target["acme"]'
    trust: {source: 'module.mcp.aws_iam_role.target["acme"]', document: {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ecsTaskRole"},"Action":"sts:AssumeRole"}]}}
buckets:
  - name: quilt-tenant-acme
    source: 'module.mcp.aws_s3_bucket.tenant["acme"]'
    policy: {source: 'module.mcp.aws_s3_bucket_policy.tenant["acme"]', document: {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::quilt-tenant-acme/*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}]}}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	src := fixtureSources(f)
	logs := decisions([]string{
		`{"time":"2026-01-01T00:00:00Z","msg":"sts decision","action":"sts:TagSession","decision":"deny","role_arn":"arn:aws:iam::111122223333:role/quilt-mcp-target-acme","reason":"no statement in trust policy of role quilt-mcp-target-acme allows sts:TagSession; nearest: trust policy of role quilt-mcp-target-acme statement #0: …"}`,
		`{"time":"2026-01-01T00:00:01Z","msg":"aws request","action":"GetObject","decision":"allow","reason":"allowed by inline policy everything of role attacker statement #0 and bucket policy of quilt-tenant-acme statement #0"}`,
		`{"time":"2026-01-01T00:00:02Z","msg":"aws request","action":"ListObjectsV2","decision":"deny","reason":"no statement allows s3:ListBucket on arn:aws:s3:::quilt-tenant-acme"}`,
		`{"time":"2026-01-01T00:00:03Z","msg":"decision","reason":"authorization token matched","role_arn":"arn:aws:iam::111122223333:role/quilt-mcp-target-acme"}`,
		`{"time":"2026-01-01T00:00:04Z","msg":"task role","action":"AssumeRole","reason":"ok"}`,
		`not json`,
	})
	if len(logs) != 3 {
		t.Fatalf("want the three AWS policy decisions, got %+v", logs)
	}
	for i, want := range []struct {
		hit    []string
		policy bool
	}{
		{[]string{`trust policy of role quilt-mcp-target-acme: module.mcp.aws_iam_role.target["acme"]`}, true},
		{[]string{`bucket policy of quilt-tenant-acme: module.mcp.aws_s3_bucket_policy.tenant["acme"]`}, true},
		{[]string{`bucket quilt-tenant-acme: module.mcp.aws_s3_bucket.tenant["acme"]`}, false},
	} {
		hit, policy := src.about(logs[i])
		if !slices.Equal(hit, want.hit) || policy != want.policy {
			t.Errorf("decision %d (%s): %v %v, want %v %v", i, logs[i].reason, hit, policy, want.hit, want.policy)
		}
	}
}
