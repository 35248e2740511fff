package sample

import (
	"bytes"
	_ "embed"
	"text/template"

	"github.com/mcpsso/mcpsso/internal/harness/sample/gosdkserver"
)

// ShippedTargetFile is target.yaml: the target file of a deployment `mcpsso sample serve`
// started on its default ports, with mcpsso on PATH.
//
//go:embed target.yaml
var ShippedTargetFile []byte

// targetTemplate is the target file; target.yaml is its rendering for the default ports.
var targetTemplate = template.Must(template.New("target").Parse(`# The go-sdk sample deployment (internal/harness/sample), as ` + "`mcpsso sample serve`" + ` runs it. Its server
# (internal/harness/sample/gosdkserver) was written with the official MCP Go SDK and has tools of its
# own; the probes map the operations the suites need onto them. Run:
#   export AUDIT_KEY_ID=test AUDIT_SECRET=test   # CloudTrail: the emulator's administrator
#   mcpsso conform --target internal/harness/sample/target.yaml
name: gosdk-sample
mcpUrl: {{.MCPURL}}
{{- if .TokenEnv}}
tokens: {source: preissued}   # each user's token in $SAMPLE_TOKEN_<USER>
{{- else}}
tokens:
  source: command
  # The mock IdP approves the device grant at once; the token's audience is the sample's
  # resource URL (RFC 8707), the only one it accepts.
  command: "{{.Mcpsso}} token --user {user} --issuer {{.Issuer}} --resource {{.MCPURL}}"
{{- end}}
users:
  - {name: alice, tenant: acme, sourceIdentity: usr-alice@acme.example, role: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"{{if .TokenEnv}}, tokenEnv: SAMPLE_TOKEN_ALICE{{end}}}
  - {name: bob, tenant: globex, sourceIdentity: usr-bob@globex.example, role: "arn:aws:iam::111122223333:role/quilt-mcp-target-globex"{{if .TokenEnv}}, tokenEnv: SAMPLE_TOKEN_BOB{{end}}}
  - {name: dave, tenant: acme, sourceIdentity: usr-dave@acme.example, role: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"{{if .TokenEnv}}, tokenEnv: SAMPLE_TOKEN_DAVE{{end}}}
  - {name: carol{{if .TokenEnv}}, tokenEnv: SAMPLE_TOKEN_CAROL{{end}}}   # no tenant claim: the sample must refuse her
capabilities: [cloudtrail, signin]
cloudtrail: {endpoint: "{{.AWS}}", region: us-east-1, accessKeyIdEnv: AUDIT_KEY_ID, secretAccessKeyEnv: AUDIT_SECRET}
probes:
  whoami:
    tool: identity
    fields: {arn: caller.arn, sourceIdentity: session.sourceIdentity, tenant: session.tenant, role: session.role}
  read:
    tool: read_file
    arguments: {uri: "{uri}"}
    content: text
    denied: {by: toolError, match: AccessDenied}
  list:
    tool: search
    arguments: {bucket: "{bucket}", prefix: "{prefix}"}
    keys: "matches[].key"
    denied: {by: toolError, match: AccessDenied}
  write:
    tool: write_file
    arguments: {uri: "{uri}", text: "{content}"}
    denied: {by: toolError, match: AccessDenied}
  delete:
    tool: delete_file
    arguments: {uri: "{uri}"}
    denied: {by: toolError, match: AccessDenied}
`))

// TargetParams are where a deployment is, for its target file.
type TargetParams struct {
	MCPURL, Issuer, AWSEndpoint string
	// Mcpsso is how the token command runs the kit's binary ("mcpsso" on PATH, or a path).
	Mcpsso string
	// TokenEnv makes the users' tokens preissued, in $SAMPLE_TOKEN_<USER> (TokenEnv), instead
	// of fetched by the token command: each fetch is a device grant, which polls for a second.
	TokenEnv bool
}

// RenderTargetFile is the sample's target file for a deployment.
func RenderTargetFile(p TargetParams) []byte {
	var b bytes.Buffer
	err := targetTemplate.Execute(&b, map[string]any{"Mcpsso": shellWord(p.Mcpsso), "MCPURL": p.MCPURL, "Issuer": p.Issuer,
		"AWS": p.AWSEndpoint, "TokenEnv": p.TokenEnv})
	if err != nil {
		panic("sample: the target file template: " + err.Error()) // strings and a bool cannot fail to render
	}
	return b.Bytes()
}

// TargetUsers are the users the target file lists, by the names the IdP knows them by.
var TargetUsers = []string{"alice", "bob", "dave", "carol"}

// DefaultTargetParams are those of a deployment on PortsFrom(DefaultPortBase), its token
// command running mcpsso from PATH: target.yaml's.
func DefaultTargetParams() TargetParams {
	p := PortsFrom(DefaultPortBase)
	return TargetParams{MCPURL: "http://" + addr(p.MCP) + gosdkserver.DefaultPath, Issuer: "http://" + addr(p.IdP),
		AWSEndpoint: "http://" + addr(p.AWS), Mcpsso: "mcpsso"}
}
