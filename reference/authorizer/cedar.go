package authorizer

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
)

// CedarPolicy is an optional policy check after the role lookup, in the style of Amazon
// Verified Permissions (the tutorial's hardening section). Cedar's semantics hold: a request is
// allowed only when some permit matches and no forbid does, so a policy file that only forbids
// must also say `permit(principal, action, resource);`. A policy that fails to evaluate denies
// the request (Cedar itself would skip it, which could turn a forbid into an allow).
//
// The request it decides:
//
//	principal  User::"<sub>"  in Tenant::"<tenant>"
//	           attributes: email, tenant, sourceIdentity, roleArn (strings; "" when absent),
//	           isAgent (bool), agentType, delegatorSub (strings)
//	action     Action::"invoke"
//	resource   Route::"<route key>" (HTTP API: "POST /mcp"; REST: "<METHOD> <resource path>")
//	context    method, path, sourceIp, mcpMethod, mcpName (the 2026-07-28 Mcp-Method and
//	           Mcp-Name headers; "" when absent — client-supplied, so forbid on them, never
//	           permit on them alone)
//
// For example, to keep globex out of a write tool while allowing everything else:
//
//	permit(principal, action, resource);
//	@id("no-put-for-globex")
//	forbid(principal in Tenant::"globex", action == Action::"invoke", resource)
//	when { context.mcpName == "put_object" };
type CedarPolicy struct {
	set *cedar.PolicySet
}

// ParseCedarPolicy parses Cedar policies; name labels positions in errors.
func ParseCedarPolicy(name string, src []byte) (*CedarPolicy, error) {
	ps, err := cedar.NewPolicySetFromBytes(name, src)
	if err != nil {
		return nil, fmt.Errorf("cedar policy %s: %w", name, err)
	}
	n := 0
	for range ps.All() {
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("cedar policy %s: no policies; an empty set denies every request", name)
	}
	return &CedarPolicy{set: ps}, nil
}

// LoadCedarPolicy reads a Cedar policy file.
func LoadCedarPolicy(path string) (*CedarPolicy, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cedar policy: %w", err)
	}
	return ParseCedarPolicy(path, src)
}

// cedarInput is what a policy sees about one request.
type cedarInput struct {
	sub, email, tenant, sourceIdentity, roleARN string
	agent                                       *Agent
	req                                         *Request
}

// Cedar entity types and the one action.
const (
	cedarUser   = cedar.EntityType("User")
	cedarTenant = cedar.EntityType("Tenant")
	cedarRoute  = cedar.EntityType("Route")
	cedarAction = cedar.EntityType("Action")
)

func (p *CedarPolicy) check(in cedarInput) *denial {
	principal := cedar.NewEntityUID(cedarUser, cedar.String(in.sub))
	tenant := cedar.NewEntityUID(cedarTenant, cedar.String(in.tenant))
	var agentType, delegator string
	if in.agent != nil {
		agentType, delegator = in.agent.Type, in.agent.DelegatorSub
	}
	entities := cedar.EntityMap{
		principal: {
			UID:     principal,
			Parents: cedar.NewEntityUIDSet(tenant),
			Attributes: cedar.NewRecord(cedar.RecordMap{
				"email":          cedar.String(in.email),
				"tenant":         cedar.String(in.tenant),
				"sourceIdentity": cedar.String(in.sourceIdentity),
				"roleArn":        cedar.String(in.roleARN),
				"isAgent":        cedar.Boolean(in.agent != nil),
				"agentType":      cedar.String(agentType),
				"delegatorSub":   cedar.String(delegator),
			}),
		},
		tenant: {UID: tenant},
	}
	route := in.req.RouteKey
	if route == "" {
		route = strings.TrimSpace(in.req.Method + " " + in.req.Path)
	}
	req := cedar.Request{
		Principal: principal,
		Action:    cedar.NewEntityUID(cedarAction, "invoke"),
		Resource:  cedar.NewEntityUID(cedarRoute, cedar.String(route)),
		Context: cedar.NewRecord(cedar.RecordMap{
			"method":    cedar.String(in.req.Method),
			"path":      cedar.String(in.req.Path),
			"sourceIp":  cedar.String(in.req.SourceIP),
			"mcpMethod": cedar.String(in.req.MCPMethod),
			"mcpName":   cedar.String(in.req.MCPName),
		}),
	}
	decision, diag := cedar.Authorize(p.set, entities, req)
	if len(diag.Errors) > 0 {
		msgs := make([]string, 0, len(diag.Errors))
		for _, e := range diag.Errors {
			msgs = append(msgs, fmt.Sprintf("%s: %s", p.policyName(e.PolicyID), e.Message))
		}
		sort.Strings(msgs)
		return &denial{reason: ReasonPolicyError, detail: "a Cedar policy failed to evaluate, so the request is denied: " + strings.Join(msgs, "; "),
			err: errors.New("cedar evaluation error")}
	}
	if decision == cedar.Allow {
		return nil
	}
	if len(diag.Reasons) == 0 {
		return deny(ReasonPolicyDenied, "no Cedar policy permits %s on %s", principal, req.Resource)
	}
	names := make([]string, 0, len(diag.Reasons))
	for _, r := range diag.Reasons {
		names = append(names, p.policyName(r.PolicyID))
	}
	sort.Strings(names)
	return deny(ReasonPolicyDenied, "forbidden by Cedar policy %s", strings.Join(names, ", "))
}

// policyName is a policy's @id annotation when it has one, else its position-based id.
func (p *CedarPolicy) policyName(id cedar.PolicyID) string {
	if pol := p.set.Get(id); pol != nil {
		if name, ok := pol.Annotations()["id"]; ok && name != "" {
			return string(name)
		}
		pos := pol.Position()
		return fmt.Sprintf("%s (%s:%d)", id, pos.Filename, pos.Line)
	}
	return string(id)
}
