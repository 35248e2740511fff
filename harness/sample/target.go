package sample

import (
	"bytes"
	_ "embed"
	"text/template"

	"github.com/mcpsso/mcpsso/harness/sample/gosdkserver"
)

// ShippedTargetFile is target.yaml: the target file of a deployment `mcpsso sample serve`
// started on its default ports, with mcpsso on PATH.
//
//go:embed target.yaml
var ShippedTargetFile []byte

// targetTemplate is the target file; target.yaml is its rendering for the default ports.
var targetTemplate = template.Must(template.New("target").Parse(`# The go-sdk sample deployment (harness/sample), as ` + "`mcpsso sample serve`" + ` runs it. Its server
# (harness/sample/gosdkserver) was written with the official MCP Go SDK and has tools of its
# own; the probes map the operations the suites need onto them. Run:
#   export AUDIT_KEY_ID=test AUDIT_SECRET=test   # CloudTrail: the emulator's administrator
#   mcpsso conform --target harness/sample/target.yaml
name: gosdk-sample
mcpUrl: {{.MCPURL}}
tokens:
  source: command
  # The mock IdP approves the device grant at once; the token's audience is the sample's
  # resource URL (RFC 8707), the only one it accepts.
  command: "{{.Mcpsso}} token --user {user} --issuer {{.Issuer}} --resource {{.MCPURL}}"
users:
  - {name: alice, tenant: acme, sourceIdentity: usr-alice@acme.example, role: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"}
  - {name: bob, tenant: globex, sourceIdentity: usr-bob@globex.example, role: "arn:aws:iam::111122223333:role/quilt-mcp-target-globex"}
  - {name: dave, tenant: acme, sourceIdentity: usr-dave@acme.example, role: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"}
  - {name: carol}   # no tenant claim: the sample must refuse her
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

// RenderTargetFile is the sample's target file for a deployment at these URLs; mcpsso is how
// the token command runs the kit's binary ("mcpsso" on PATH, or a path).
func RenderTargetFile(mcpsso, mcpURL, issuer, awsEndpoint string) []byte {
	var b bytes.Buffer
	if err := targetTemplate.Execute(&b, map[string]string{"Mcpsso": shellWord(mcpsso), "MCPURL": mcpURL, "Issuer": issuer, "AWS": awsEndpoint}); err != nil {
		panic("sample: the target file template: " + err.Error()) // a map of strings cannot fail to render
	}
	return b.Bytes()
}

// DefaultURLs are the URLs of a deployment on PortsFrom(DefaultPortBase).
func DefaultURLs() (mcpURL, issuer, awsEndpoint string) {
	p := PortsFrom(DefaultPortBase)
	return "http://" + addr(p.MCP) + gosdkserver.DefaultPath, "http://" + addr(p.IdP), "http://" + addr(p.AWS)
}
