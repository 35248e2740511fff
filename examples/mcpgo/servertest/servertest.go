// Package servertest holds what this server's tests share: the server as mcpssotest runs it,
// and the probes that map the conformance suites' operations onto its tools.
package servertest

import (
	"net/http"

	"example.com/mcpgo/server"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

// Probes map the suites' operations onto the server's tools: who it acts as (identity), and
// read, list, write and delete of a file by s3:// URI. A denial is a tool error that names
// AWS's AccessDenied.
var Probes = mcpssotest.Probes{
	Whoami: &mcpssotest.Probe{Tool: "identity",
		Fields: &mcpssotest.WhoamiFields{ARN: "caller.arn", SourceIdentity: "session.sourceIdentity", Tenant: "session.tenant", Role: "session.role"}},
	Read:   &mcpssotest.Probe{Tool: "read_file", Arguments: map[string]any{"uri": "{uri}"}, DeniedMatch: "AccessDenied"},
	List:   &mcpssotest.Probe{Tool: "list_files", Arguments: map[string]any{"bucket": "{bucket}", "prefix": "{prefix}"}, Keys: "files[].key", DeniedMatch: "AccessDenied"},
	Write:  &mcpssotest.Probe{Tool: "write_file", Arguments: map[string]any{"uri": "{uri}", "text": "{content}"}, DeniedMatch: "AccessDenied"},
	Delete: &mcpssotest.Probe{Tool: "delete_file", Arguments: map[string]any{"uri": "{uri}"}, DeniedMatch: "AccessDenied"},
}

// Server is the server with defect (none: "") as the stack runs it: the task role from ECS,
// the gateway's decided headers proven by the authorizer, the gateway's browser origins.
func Server(defect server.Defect) mcpssotest.Option {
	return mcpssotest.WithMCPServer(func(env mcpssotest.Env) http.Handler {
		return server.New(server.Config{AWS: env.AWSConfig(), VerifyContext: env.VerifyContext,
			AllowedOrigins: env.AllowedOrigins, Logger: env.Logger, Defect: defect})
	})
}
