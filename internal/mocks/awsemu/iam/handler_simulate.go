package iam

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// SimulatePrincipalPolicy and SimulateCustomPolicy answer "would this be allowed, and by which
// statement?" with the standard API, evaluated by the same engine (iampolicy.Decide) that
// enforces every request. IAM's EvaluationResult has no field for a reason: the emulator's
// one-line reason, its near misses and the context keys the action ignored go to the
// handler's logger (WithLogger) instead, one "iam simulation" line per result.
//
// What differs from AWS, on purpose or for want of documentation:
//   - Keys the engine derives from the simulated principal (aws:PrincipalArn,
//     aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username, aws:PrincipalTag/*)
//     and from the clock (aws:CurrentTime, aws:EpochTime) are supplied, and so not listed in
//     MissingContextValues; a ContextEntries value overrides them.
//   - Without CallerArn, SimulateCustomPolicy simulates the caller's account root
//     (arn:aws:iam::<acct>:root), on the given policies only: not with the root user's
//     implicit full access.
//   - One EvaluationResult per action and resource (actions outer); with ResourceArns each
//     carries a one-element ResourceSpecificResults holding its MissingContextValues.
//   - StartPosition is the 1-based line and column of the statement's "{", EndPosition the
//     position just past its "}".
//   - Groups, PolicyExclusionList, ResourceHandlingOption and organization policies are not
//     supported and are refused with InvalidInput rather than ignored.

var (
	simActionRe = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9_-]+$`)
	contextType = map[string]bool{"string": true, "stringList": true, "numeric": true, "numericList": true,
		"boolean": true, "booleanList": true, "ip": true, "ipList": true, "binary": true, "binaryList": true,
		"date": true, "dateList": true}
)

// simSource is one policy in a simulation, as EvaluationResult.MatchedStatements names it.
type simSource struct {
	id, typ string // SourcePolicyId, SourcePolicyType
	policy  *iampolicy.Policy
}

type contextEntry struct {
	Name   string   `json:"contextKeyName"`
	Values []string `json:"contextKeyValues"`
	Type   string   `json:"contextKeyType,omitempty"`
}

type simulation struct {
	actions   []string
	resources []string // empty: "*"
	context   []contextEntry
	identity  []simSource
	boundary  *simSource
	resource  *simSource
	owner     string
	principal iampolicy.Principal
	page      pageRequest
	trail     map[string]any
}

func (h *Handler) simulatePrincipalPolicy(c *Call) (any, error) {
	p := c.Params
	source, err := arnParam(p, "PolicySourceArn", true)
	if err != nil {
		return nil, err
	}
	if items, err := p.Structs("PolicyExclusionList"); err != nil || len(items) > 0 {
		return nil, unsupported("SimulatePrincipalPolicy", "PolicyExclusionList", "simulate without the policy instead, with SimulateCustomPolicy")
	}
	sim, err := readSimulation(p, false)
	if err != nil {
		return nil, err
	}
	sim.trail["policySourceArn"] = source
	c.SetTrail(sim.trail, nil)
	if err := h.authorize(c, "iam:SimulatePrincipalPolicy", source, nil); err != nil {
		return nil, err
	}
	a, ok := splitIAMARN(source)
	if !ok {
		return nil, awserr.New(http.StatusBadRequest, "InvalidInput", "PolicySourceArn %s is not the ARN of an IAM user, group or role.", source)
	}
	var inline map[string]*iampolicy.Policy
	var attached []string
	var typ, boundaryARN string
	switch a.kind {
	case "user":
		u, err := h.store.GetUser(a.account, a.name)
		if err != nil || u.ARN != source {
			return nil, noSuchEntity("The user with name %s cannot be found.", a.name)
		}
		inline, attached, typ = u.Inline, u.Attached, "user"
		sim.principal = iampolicy.Principal{ARN: u.ARN, Account: u.Account, UserID: u.ID, Tags: tagMap(u.Tags)}
	case "role":
		r, err := h.store.RoleByARN(source)
		if err != nil {
			return nil, noSuchEntity("The role with name %s cannot be found.", a.name)
		}
		inline, attached, typ, boundaryARN = r.Inline, r.Attached, "role", r.BoundaryARN
		sim.principal = iampolicy.Principal{ARN: r.ARN, Account: r.Account, UserID: r.ID, Tags: tagMap(r.Tags)}
	case "group":
		return nil, noSuchEntity("The group with name %s cannot be found.", a.name)
	default:
		return nil, awserr.New(http.StatusBadRequest, "InvalidInput", "PolicySourceArn %s is not the ARN of an IAM user, group or role.", source)
	}
	if sim.resource != nil && !h.hasCaller(p) && typ != "user" {
		return nil, awserr.New(http.StatusBadRequest, "InvalidInput", "CallerArn is required when ResourcePolicy is given and PolicySourceArn is not an IAM user.")
	}
	if err := h.simulatedCaller(p, &sim); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(inline))
	for n := range inline {
		names = append(names, n)
	}
	sort.Strings(names)
	var ids []simSource
	for _, n := range names {
		pol, err := reparse(iampolicy.IdentityPolicy, typ+" policy "+n, inline[n].Document())
		if err != nil {
			return nil, err
		}
		ids = append(ids, simSource{id: n, typ: typ, policy: pol})
	}
	for _, arn := range attached {
		mp, err := h.store.GetPolicy(arn)
		if err != nil {
			continue
		}
		pol, err := reparse(iampolicy.IdentityPolicy, "managed policy "+mp.ARN, mp.Document.Document())
		if err != nil {
			return nil, err
		}
		// AWS names an attached managed policy's type "IAM Policy" (recorded), not the
		// documented enum's "user-managed".
		ids = append(ids, simSource{id: mp.Name, typ: "IAM Policy", policy: pol})
	}
	sim.identity = append(ids, sim.identity...)
	if sim.boundary == nil && boundaryARN != "" {
		mp, err := h.store.GetPolicy(boundaryARN)
		doc := denyAll.Document()
		if err == nil {
			doc = mp.Document.Document()
		}
		pol, err := reparse(iampolicy.PermissionsBoundary, "permissions boundary "+boundaryARN, doc)
		if err != nil {
			return nil, err
		}
		sim.boundary = &simSource{id: lastARNPart(boundaryARN), typ: "user-managed", policy: pol}
	}
	return h.runSimulation(c, &sim), nil
}

func (h *Handler) simulateCustomPolicy(c *Call) (any, error) {
	p := c.Params
	if items, err := p.Structs("OrderedOrganizationPolicyInputList"); err != nil || len(items) > 0 {
		return nil, unsupported("SimulateCustomPolicy", "OrderedOrganizationPolicyInputList", "the emulator has no AWS Organizations")
	}
	sim, err := readSimulation(p, true)
	if err != nil {
		return nil, err
	}
	c.SetTrail(sim.trail, nil)
	if err := h.authorize(c, "iam:SimulateCustomPolicy", "*", nil); err != nil {
		return nil, err
	}
	if sim.resource != nil && !h.hasCaller(p) {
		return nil, awserr.New(http.StatusBadRequest, "InvalidInput", "CallerArn is required when ResourcePolicy is given.")
	}
	acct := c.Caller.Account
	sim.principal = iampolicy.Principal{ARN: "arn:aws:iam::" + acct + ":root", Account: acct}
	if err := h.simulatedCaller(p, &sim); err != nil {
		return nil, err
	}
	return h.runSimulation(c, &sim), nil
}

func (h *Handler) hasCaller(p *query.Params) bool {
	v, ok := p.Get("CallerArn")
	return ok && v != ""
}

// simulatedCaller applies CallerArn, which must name an IAM user ("You can specify only the
// ARN of an IAM user", SimulatePrincipalPolicy API reference).
func (h *Handler) simulatedCaller(p *query.Params, sim *simulation) error {
	arn, ok := p.Get("CallerArn")
	if !ok {
		return nil
	}
	a, ok := splitIAMARN(arn)
	if !ok || a.kind != "user" {
		return awserr.New(http.StatusBadRequest, "InvalidInput", "CallerArn %s is not the ARN of an IAM user: only a user can be the simulated caller.", arn)
	}
	sim.principal = iampolicy.Principal{ARN: arn, Account: a.account}
	if u, err := h.store.GetUser(a.account, a.name); err == nil && u.ARN == arn {
		sim.principal.UserID, sim.principal.Tags = u.ID, tagMap(u.Tags)
	}
	return nil
}

// readSimulation reads the parameters both Simulate actions share.
func readSimulation(p *query.Params, custom bool) (simulation, error) {
	sim := simulation{trail: map[string]any{}}
	var err error
	if custom {
		if _, ok := p.Get("PolicyInputList.member.1"); !ok {
			return sim, awserr.Validation("1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null")
		}
	}
	inputs, err := p.List("PolicyInputList")
	if err != nil {
		return sim, err
	}
	for i, doc := range inputs {
		id := fmt.Sprintf("PolicyInputList.%d", i+1)
		pol, err := parseInput(iampolicy.IdentityPolicy, id, doc)
		if err != nil {
			return sim, err
		}
		sim.identity = append(sim.identity, simSource{id: id, typ: "IAM Policy", policy: pol})
	}
	bounds, err := p.List("PermissionsBoundaryPolicyInputList")
	if err != nil {
		return sim, err
	}
	switch len(bounds) {
	case 0:
	case 1:
		const id = "PermissionsBoundaryPolicyInputList.1"
		pol, err := parseInput(iampolicy.PermissionsBoundary, id, bounds[0])
		if err != nil {
			return sim, err
		}
		sim.boundary = &simSource{id: id, typ: "IAM Policy", policy: pol}
	default:
		return sim, awserr.New(http.StatusBadRequest, "InvalidInput", "PermissionsBoundaryPolicyInputList takes one permissions boundary, got %d.", len(bounds))
	}
	if _, ok := p.Get("ActionNames.member.1"); !ok {
		return sim, awserr.Validation("1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	if sim.actions, err = p.List("ActionNames"); err != nil {
		return sim, err
	}
	for _, a := range sim.actions {
		if len(a) < 3 || len(a) > 128 || !simActionRe.MatchString(a) {
			return sim, awserr.New(http.StatusBadRequest, "InvalidInput", "Action name %q is not valid: an action is \"<service>:<Action>\", such as \"s3:GetObject\", without wildcards.", a)
		}
	}
	if sim.resources, err = p.List("ResourceArns"); err != nil {
		return sim, err
	}
	for _, r := range sim.resources {
		if r != "*" && (len(r) > 2048 || !strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < 5) {
			return sim, awserr.New(http.StatusBadRequest, "InvalidInput", "Resource %q is not an ARN (arn:partition:service:region:account:resource) or \"*\".", r)
		}
	}
	if doc, ok := p.Get("ResourcePolicy"); ok {
		kind := iampolicy.ResourcePolicy
		if !hasResourceElement(doc) {
			kind = iampolicy.TrustPolicy
		}
		pol, err := parseInput(kind, "ResourcePolicy", doc)
		if err != nil {
			return sim, err
		}
		sim.resource = &simSource{id: "ResourcePolicy", typ: "resource", policy: pol}
		sim.trail["resourcePolicy"] = doc
	}
	if owner, ok := p.Get("ResourceOwner"); ok {
		a, ok := splitIAMARN(owner)
		switch {
		case ok && a.kind == "root":
			sim.owner = a.account
		case accountRe.MatchString(owner):
			sim.owner = owner
		default:
			return sim, awserr.New(http.StatusBadRequest, "InvalidInput", "ResourceOwner %q is not an account ARN (arn:aws:iam::<account>:root).", owner)
		}
		sim.trail["resourceOwner"] = owner
	}
	if v, ok := p.Get("ResourceHandlingOption"); ok {
		return sim, unsupported(p.Action, "ResourceHandlingOption "+v, "EC2 scenarios are not emulated")
	}
	if sim.context, err = readContextEntries(p); err != nil {
		return sim, err
	}
	if sim.page, err = readPage(p); err != nil {
		return sim, err
	}
	if callerARN, ok := p.Get("CallerArn"); ok {
		sim.trail["callerArn"] = callerARN
	}
	if err := p.CheckUnknown(); err != nil {
		return sim, err
	}
	sim.trail["actionNames"] = sim.actions
	if len(inputs) > 0 {
		sim.trail["policyInputList"] = inputs
	}
	if len(bounds) > 0 {
		sim.trail["permissionsBoundaryPolicyInputList"] = bounds
	}
	if len(sim.resources) > 0 {
		sim.trail["resourceArns"] = sim.resources
	}
	if len(sim.context) > 0 {
		sim.trail["contextEntries"] = sim.context
	}
	return sim, nil
}

// readContextEntries reads ContextEntries.member.N.{ContextKeyName, ContextKeyType,
// ContextKeyValues.member.M} and checks each value against its declared type.
func readContextEntries(p *query.Params) ([]contextEntry, error) {
	// The SDK sends an empty list as a bare "ContextEntries=".
	if v, ok := p.Get("ContextEntries"); ok && v != "" {
		return nil, awserr.Validation("parameter ContextEntries is a list: give ContextEntries.member.1.ContextKeyName, …")
	}
	var out []contextEntry
	for n := 1; ; n++ {
		pre := fmt.Sprintf("ContextEntries.member.%d.", n)
		keyName, hasName := p.Get(pre + "ContextKeyName")
		typ, hasType := p.Get(pre + "ContextKeyType")
		values, err := p.List(pre + "ContextKeyValues")
		if err != nil {
			return nil, err
		}
		_, hasEmpty := p.Get(pre + "ContextKeyValues")
		if !hasName && !hasType && !hasEmpty && len(values) == 0 {
			return out, nil
		}
		field := fmt.Sprintf("contextEntries.%d.member", n)
		if !hasName {
			return nil, awserr.Validation("1 validation error detected: Value null at '%s.contextKeyName' failed to satisfy constraint: Member must not be null", field)
		}
		if len(keyName) < 5 || len(keyName) > 256 {
			return nil, awserr.Validation("1 validation error detected: Value '%s' at '%s.contextKeyName' failed to satisfy constraint: Member must have length between 5 and 256", keyName, field)
		}
		if !hasType {
			typ = "string"
			if len(values) > 1 {
				typ = "stringList"
			}
		}
		if !contextType[typ] {
			return nil, awserr.Validation("1 validation error detected: Value '%s' at '%s.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set: [string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList]", typ, field)
		}
		base, isList := strings.CutSuffix(typ, "List")
		if !isList && len(values) != 1 {
			return nil, awserr.New(http.StatusBadRequest, "InvalidInput", "Context key %s has type %s and %d values: a %s key takes exactly one value (use %sList for several).", keyName, typ, len(values), typ, typ)
		}
		for _, v := range values {
			if !validContextValue(base, v) {
				return nil, awserr.New(http.StatusBadRequest, "InvalidInput", "Context key %s: value %q is not a valid %s.", keyName, v, base)
			}
		}
		e := contextEntry{Name: keyName, Values: values}
		if hasType {
			e.Type = typ
		}
		out = append(out, e)
	}
}

func validContextValue(typ, v string) bool {
	switch typ {
	case "numeric":
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case "boolean":
		return strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
	case "ip":
		if _, _, err := net.ParseCIDR(v); err == nil {
			return true
		}
		return net.ParseIP(v) != nil
	case "binary":
		_, err := base64.StdEncoding.DecodeString(v)
		return err == nil
	case "date":
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return true
		}
		_, ok := parseContextDate(v)
		return ok
	}
	return true
}

func parseContextDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseInput parses a policy given in the request; a bad one is MalformedPolicyDocument
// naming the parameter.
func parseInput(kind iampolicy.Kind, id, doc string) (*iampolicy.Policy, error) {
	if doc == "" {
		return nil, awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", "%s: the policy document is empty", id)
	}
	pol, err := iampolicy.Parse(kind, id, []byte(doc))
	if err != nil {
		return nil, malformed(err)
	}
	return pol, nil
}

// reparse labels a stored policy for this simulation, so that decisions map back to sources.
func reparse(kind iampolicy.Kind, label string, doc []byte) (*iampolicy.Policy, error) {
	pol, err := iampolicy.Parse(kind, label, doc)
	if err != nil {
		return nil, malformed(err)
	}
	return pol, nil
}

func tagMap(tags []Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func lastARNPart(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
