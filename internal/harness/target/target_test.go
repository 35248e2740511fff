package target

import (
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/probe"
)

const good = `name: demo
mcpUrl: https://mcp.example.com/mcp
tokens: {source: command, command: "mcpsso token --user {user} --issuer https://idp.example.com"}
users:
  - {name: alice, tenant: acme}
  - {name: carol}
capabilities: [metrics]
metricsUrl: http://mcp.internal:8483/metrics
`

func TestAValidTargetFileLoads(t *testing.T) {
	f, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	withRole, err := Parse([]byte(strings.Replace(good, "tenant: acme}", "tenant: acme, role: 'arn:aws:iam::111122223333:role/quilt-mcp-target-acme'}", 1)))
	if err != nil || withRole.Users[0].Role != "arn:aws:iam::111122223333:role/quilt-mcp-target-acme" {
		t.Fatalf("a user's role: %v", err)
	}
	if f.Users[0].Bucket != "quilt-tenant-acme" || f.Users[1].Tenant != "" {
		t.Fatalf("%+v", f.Users)
	}
}

func TestBadTargetFilesNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, from, to, mention string }{
		{"an unknown field is an error", "name: demo", "name: demo\nbogus: 1", "bogus"},
		{"the MCP URL must be absolute", "https://mcp.example.com/mcp", "mcp.example.com", "mcpUrl"},
		{"the token command must take the user", "--user {user}", "--user alice", "tokens.command"},
		{"a capability only the embedded target has is refused", "[metrics]", "[metrics, forge]", "capabilities[1]"},
		{"metrics needs its URL", "metricsUrl: http://mcp.internal:8483/metrics\n", "", "metricsUrl"},
		{"a tenant must be safe", "tenant: acme", "tenant: Acme/Corp", "users[0].tenant"},
		{"a role must be an IAM role ARN", "tenant: acme}", "tenant: acme, role: quilt-mcp-target-acme}", "users[0].role"},
		{"a user without a tenant has no role", "{name: carol}", "{name: carol, role: 'arn:aws:iam::111122223333:role/x'}", "users[1].role"},
		{"preissued tokens must be given", "source: command, command: \"mcpsso token --user {user} --issuer https://idp.example.com\"", "source: preissued", "users[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(strings.Replace(good, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("%v", err)
			}
		})
	}
}

const withProbes = good + `probes:
  whoami:
    tool: identity
    fields: {arn: caller.arn, sourceIdentity: session.sourceIdentity, tenant: session.tenant}
  read:
    tool: read_file
    arguments: {uri: "{uri}"}
    denied: {by: toolError, match: "AccessDenied|Forbidden"}
  list:
    tool: search
    arguments: {bucket: "{bucket}", prefix: "{prefix}", limit: 50}
    keys: "matches[].key"
`

func TestProbesDefaultToTheReferenceAndDeclareOnlyWhatTheFileSays(t *testing.T) {
	f, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if f.Probes != nil || f.ProbeSet().Get("read").Tool != "get_object" {
		t.Fatal("a file without probes: does not get the reference server's mapping")
	}
	f, err = Parse([]byte(withProbes))
	if err != nil {
		t.Fatal(err)
	}
	ps := f.ProbeSet()
	if ps.Get("whoami").Fields.SourceIdentity != "session.sourceIdentity" || ps.Get("write") != nil || ps.Get("delete") != nil {
		t.Fatalf("probes = %+v", ps)
	}
	args := ps.Get("list").Args(probeVars("b", "p/"))
	if args["bucket"] != "b" || args["prefix"] != "p/" || args["limit"] != uint64(50) {
		t.Fatalf("list arguments = %#v", args)
	}
}

func TestBadProbesNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, from, to, mention string }{
		{"an unknown field in a probe", "tool: read_file", "tool: read_file\n    method: GET", "method"},
		{"an unknown operation", "  list:\n", "  search:\n", "search"},
		{"an unknown placeholder", `{uri: "{uri}"}`, `{uri: "{path}"}`, "probes.read.arguments.uri: placeholder {path}"},
		{"list needs keys", `    keys: "matches[].key"` + "\n", "", "probes.list.keys: required"},
		{"a denial kind", "by: toolError", "by: status403", `probes.read.denied.by: "status403"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(withProbes, tc.from, tc.to, 1)
			if src == withProbes {
				t.Fatalf("the edit %q did not apply", tc.from)
			}
			_, err := Parse([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("Parse = %v, want an error mentioning %q", err, tc.mention)
			}
		})
	}
}

func probeVars(bucket, prefix string) probe.Vars { return probe.Vars{Bucket: bucket, Prefix: prefix} }
