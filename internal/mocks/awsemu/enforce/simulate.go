package enforce

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// simulatePrincipalPolicy answers iam:SimulatePrincipalPolicy for a role with the emulator's
// IAM simulation, over the role as the upstream has it, rather than relaying: moto does not
// implement the action (500) and LocalStack's free edition answers without evaluating
// anything, while this is the engine the proxy enforces with. The role is copied into a
// scratch store for the one request; its trust policy plays no part in the simulation and is
// not copied (the scratch store knows none of the principals it names). Users and groups are
// not modelled by the proxy and are relayed.
func (p *Proxy) simulatePrincipalPolicy(w http.ResponseWriter, r *http.Request, call *iam.Call) (handled bool) {
	source, _ := call.Params.Get("PolicySourceArn")
	if !strings.Contains(source, ":role/") {
		return false
	}
	fail := func(err error) bool {
		p.deny(w, r, "iam", "SimulatePrincipalPolicy", call, err)
		return true
	}
	role, err := p.roleByARN(r.Context(), source)
	if err != nil {
		return fail(err)
	}
	if role == nil {
		return fail(awserr.New(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", source[strings.LastIndexByte(source, '/')+1:]))
	}
	if role.BoundaryARN != "" {
		return fail(awserr.New(http.StatusBadRequest, "InvalidInput", "the enforcing proxy does not simulate roles with a permissions boundary (%s)", role.BoundaryARN))
	}
	scratch := iam.NewStore(iam.WithClock(p.now))
	if _, err := scratch.AddAccount(role.Account); err != nil {
		return fail(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + role.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := scratch.CreateRole(role.Account, iam.RoleInput{Name: role.Name, Path: role.Path, TrustPolicy: trust,
		MaxSessionDuration: role.MaxSessionDuration, Tags: role.Tags}); err != nil {
		return fail(err)
	}
	names := make([]string, 0, len(role.Inline))
	for n := range role.Inline {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// Managed policies are kept among the inline ones as "managed:<arn>" (readRole).
		name := n
		if arn, ok := strings.CutPrefix(n, "managed:"); ok {
			name = "managed-" + policyNameChars.ReplaceAllString(arn[strings.LastIndexByte(arn, '/')+1:], "-")
		}
		if err := scratch.PutRolePolicy(role.Account, role.Name, name, string(role.Inline[n].Document())); err != nil {
			return fail(fmt.Errorf("simulating %s: %w", source, err))
		}
	}
	if _, err := scratch.AddAccount(call.Caller.Account); err != nil && call.Caller.Account != role.Account {
		return fail(err)
	}
	result, err := iam.NewHandler(scratch).Serve(call)
	if err != nil {
		return fail(err)
	}
	query.WriteResult(w, "SimulatePrincipalPolicy", iam.XMLNS, call.RequestID, result)
	p.record("iam", "SimulatePrincipalPolicy", call, "", "", nil)
	return true
}

var policyNameChars = regexp.MustCompile(`[^\w+=,.@-]`)
