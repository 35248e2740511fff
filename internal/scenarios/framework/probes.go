package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/onsi/ginkgo/v2"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/internal/probe"
)

// The suites reach a deployment's tools only through probes: abstract operations (who the
// server acts as, read, list, write, delete) that the target maps onto its own tools
// (Target.Probes; a target file's `probes:` section, the reference server's mapping by
// default). A spec needing an operation the target does not declare is skipped with the reason.
type (
	// Op is an abstract operation.
	Op = probe.Op
	// Probes are a target's operations mapped onto its tools.
	Probes = probe.Set
	// ProbeVars fill a probe's placeholders: bucket, key, prefix, content.
	ProbeVars = probe.Vars
	// Identity is who the server says it acts as (the whoami operation).
	Identity = probe.Identity
)

// The operations.
const (
	OpWhoami = probe.Whoami
	OpRead   = probe.Read
	OpList   = probe.List
	OpWrite  = probe.Write
	OpDelete = probe.Delete
)

// ReferenceProbes is the reference MCP server's mapping: the default of every target.
func ReferenceProbes() *Probes { return probe.Reference() }

// RequireProbe skips the running spec, with the reason, when the current target declares no
// probe for any of ops.
func RequireProbe(ops ...Op) {
	t := Current()
	for _, op := range ops {
		if t.Probes().Get(op) == nil {
			ginkgo.Skip(fmt.Sprintf("target %s declares no %q probe (probes.%s in its target file), which this spec needs", t.Name(), op, op))
		}
	}
}

// ProbeOf returns the current target's probe of op, skipping the spec when it has none.
func ProbeOf(op Op) *probe.Probe {
	RequireProbe(op)
	return Current().Probes().Get(op)
}

// ProbeResult is what one probe call answered.
type ProbeResult struct {
	probe.Answer
	Op   Op
	Tool string
	Args map[string]any
	p    *probe.Probe
}

// Denied reports whether the answer is a denial as the target's probe declares one.
func (r ProbeResult) Denied() bool { return r.p.IsDenial(r.Answer) }

// DenialRule says what counts as a denial of this operation, for failure messages.
func (r ProbeResult) DenialRule() string { return r.p.DenialRule() }

// Identity reads a whoami answer.
func (r ProbeResult) Identity() (Identity, error) { return r.p.Identity(r.Answer) }

// Keys reads a list answer.
func (r ProbeResult) Keys() ([]string, error) { return r.p.ListedKeys(r.Answer) }

// Content reads a read answer.
func (r ProbeResult) Content() (string, error) { return r.p.ReadContent(r.Answer) }

// String says what was called and what it answered, for failure messages.
func (r ProbeResult) String() string {
	args, _ := json.Marshal(r.Args)
	what := "a result"
	switch {
	case r.RPCError:
		what = "a JSON-RPC error"
	case r.IsError:
		what = "a tool error"
	}
	return fmt.Sprintf("%s (%s probe) %s answered %s: %.400s", r.Tool, r.Op, args, what, r.Text)
}

// ToolAnswer is what a tools/call answered, as any MCP client reports it.
type ToolAnswer = probe.Answer

// ToolCaller is one MCP client's tools/call: err is for a call that got no answer; a JSON-RPC
// error answer is a ToolAnswer with RPCError set.
type ToolCaller func(ctx context.Context, tool string, args map[string]any) (ToolAnswer, error)

// CallProbe runs the current target's probe of op on the mcp-go client c with v, skipping the
// spec when the target declares none; err is for a call that got no answer.
func CallProbe(ctx context.Context, c *mcpclient.Client, op Op, v ProbeVars) (ProbeResult, error) {
	return RunProbe(ctx, func(ctx context.Context, tool string, args map[string]any) (ToolAnswer, error) {
		return CallProbeTool(ctx, c, tool, args)
	}, op, v)
}

// RunProbe runs the current target's probe of op with v through call, for MCP clients other
// than mcp-go; it skips the spec when the target declares no probe of op.
func RunProbe(ctx context.Context, call ToolCaller, op Op, v ProbeVars) (ProbeResult, error) {
	p := ProbeOf(op)
	args := p.Args(v)
	a, err := call(ctx, p.Tool, args)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("%s (%s probe): %w", p.Tool, op, err)
	}
	return ProbeResult{Answer: a, Op: op, Tool: p.Tool, Args: args, p: p}, nil
}

// ProbeCall is the JSON-RPC body of a tools/call of the current target's probe of op with v,
// for specs that post a request themselves. Without a probe of op it calls the reference
// server's tool: such a request must be refused before any tool runs, and a tool no server
// has would make a wrongly accepted request look refused, so the whoami name is the honest
// default only where a refusal is judged by the HTTP status.
func ProbeCall(op Op, v ProbeVars) string {
	p := Current().Probes().Get(op)
	if p == nil {
		p = ReferenceProbes().Get(op)
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": p.Tool, "arguments": p.Args(v)}})
	if err != nil {
		panic("framework: a probe's arguments do not encode: " + err.Error())
	}
	return string(body)
}

// CheckProbes lists the tools of t's MCP server as its first user with a tenant and fails when
// a declared probe names a tool the server does not list: a mapping error is the target
// file's, and every spec using the probe would fail for it. It returns nil when the server
// cannot be asked (no token, no session): the specs report that themselves.
func CheckProbes(ctx context.Context, t Target) error {
	ps := t.Probes()
	var user string
	for _, u := range t.Users() {
		if u.Tenant != "" {
			user = u.Name
			break
		}
	}
	if user == "" || len(ps.Declared()) == 0 {
		return nil
	}
	token, err := t.Token(ctx, user)
	if err != nil {
		return nil
	}
	c, err := ConnectMCP(ctx, t.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		return nil
	}
	defer c.Close()
	tools, err := mcpcall.ListTools(ctx, c)
	if err != nil {
		return nil
	}
	var missing []string
	for _, op := range ps.Declared() {
		if p := ps.Get(op); !slices.Contains(tools, p.Tool) {
			missing = append(missing, fmt.Sprintf("probes.%s.tool %q", op, p.Tool))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("target %s: %s not in the tools/list of %s as %s (it lists: %s); map the operations onto the deployment's tools in the target file's probes: section",
			t.Name(), strings.Join(missing, ", "), t.MCPURL(), user, strings.Join(tools, ", "))
	}
	return nil
}

// RequireIdentityFields skips the running spec, with the reason, when the current target's
// whoami probe does not say where each of fields (sourceIdentity, tenant, role) is in its
// answer.
func RequireIdentityFields(fields ...string) {
	p := ProbeOf(OpWhoami)
	for _, f := range fields {
		var path string
		switch f {
		case "arn":
			path = p.Fields.ARN
		case "sourceIdentity":
			path = p.Fields.SourceIdentity
		case "tenant":
			path = p.Fields.Tenant
		case "role":
			path = p.Fields.Role
		default:
			panic("framework: no whoami field " + f)
		}
		if path == "" {
			ginkgo.Skip(fmt.Sprintf("target %s's whoami probe does not map %s (probes.whoami.fields.%s), which this spec checks", Current().Name(), f, f))
		}
	}
}

// CallProbeTool is a tools/call of tool on the mcp-go client c, as a ToolCaller answers it.
func CallProbeTool(ctx context.Context, c *mcpclient.Client, tool string, args map[string]any) (ToolAnswer, error) {
	res, err := mcpcall.Call(ctx, c, tool, args)
	return ToolAnswer{Text: res.Text, Structured: res.Structured, IsError: res.IsError, RPCError: res.RPCError}, err
}
