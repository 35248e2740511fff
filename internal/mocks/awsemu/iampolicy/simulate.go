package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// InputError is a simulation request that cannot be evaluated. Field is a JSON path such as
// "principal.arn" or "identityPolicies[1]".
type InputError struct {
	Field   string
	Problem string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Problem }

// simRequest is the JSON contract of `mcpsso policy simulate` (docs/components/policies.md).
type simRequest struct {
	Action              string                     `json:"action"`
	Resource            string                     `json:"resource"`
	Principal           *simPrincipal              `json:"principal"`
	Context             map[string]json.RawMessage `json:"context"`
	IdentityPolicies    []json.RawMessage          `json:"identityPolicies"`
	ResourcePolicy      json.RawMessage            `json:"resourcePolicy"`
	SessionPolicy       json.RawMessage            `json:"sessionPolicy"`
	PermissionsBoundary json.RawMessage            `json:"permissionsBoundary"`
	ResourceAccount     string                     `json:"resourceAccount"`
}

type simPrincipal struct {
	ARN            string            `json:"arn"`
	Account        string            `json:"account"`
	Tags           map[string]string `json:"tags"`
	RoleARN        string            `json:"roleArn"`
	UserID         string            `json:"userId"`
	SourceIdentity string            `json:"sourceIdentity"`
	Service        string            `json:"service"`
	Federated      string            `json:"federated"`
	IAMUserARN     string            `json:"iamUserArn"`
}

var (
	requestActionRe = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9_-]+$`)
	accountRe       = regexp.MustCompile(`^\d{12}$`)
)

// Simulate evaluates one JSON simulation request and returns the decision. Unknown fields,
// malformed values and invalid policies are *InputError values naming the field.
//
// The resource policy is taken as a trust policy when none of its statements has a Resource
// or NotResource element, and as a resource-based policy otherwise. A trust policy must allow
// the request whatever the identity policies say, as for a real role.
func Simulate(data []byte) (*Decision, error) {
	var req simRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, &InputError{Field: "(request)", Problem: "trailing data after the JSON object"}
	}
	in, err := req.input()
	if err != nil {
		return nil, err
	}
	d := Decide(in)
	return &d, nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &InputError{Field: "(request)", Problem: fmt.Sprintf("not valid JSON at byte %d: %v", syn.Offset, err)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(request)"
		}
		return &InputError{Field: field, Problem: fmt.Sprintf("must be %s, got a JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		field := strings.Trim(f, `"`)
		if field == "" {
			field = "(request)"
		}
		return &InputError{Field: field, Problem: "unknown field " + f + " (fields are action, resource, principal, context, identityPolicies, resourcePolicy, sessionPolicy, permissionsBoundary, resourceAccount; principal has arn, account, tags, roleArn, userId, sourceIdentity, service, federated, iamUserArn)"}
	}
	if errors.Is(err, io.EOF) {
		return &InputError{Field: "(request)", Problem: "empty input: expected a JSON object"}
	}
	return &InputError{Field: "(request)", Problem: msg}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "a list"
	}
	return goKind
}

func (req *simRequest) input() (Input, error) {
	bad := func(field, format string, args ...any) (Input, error) {
		return Input{}, &InputError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if req.Action == "" {
		return bad("action", "required: the action to evaluate, such as \"s3:GetObject\"")
	}
	if !requestActionRe.MatchString(req.Action) {
		return bad("action", "%q is not \"<service>:<Action>\" (a request names one action: no wildcards)", req.Action)
	}
	if req.Resource == "" {
		return bad("resource", "required: the ARN acted on, such as \"arn:aws:s3:::bucket/key\" (or \"*\")")
	}
	if _, ok := splitARN(req.Resource); !ok && req.Resource != "*" {
		return bad("resource", "%q is not an ARN (arn:partition:service:region:account:resource)", req.Resource)
	}
	if req.ResourceAccount != "" && !accountRe.MatchString(req.ResourceAccount) {
		return bad("resourceAccount", "%q is not a 12-digit account ID", req.ResourceAccount)
	}
	r := &Request{Action: req.Action, Resource: req.Resource}
	if p := req.Principal; p != nil {
		if p.ARN != "" {
			a, ok := splitARN(p.ARN)
			if !ok {
				return bad("principal.arn", "%q is not an ARN", p.ARN)
			}
			if p.Account != "" && a.account != "" && a.account != p.Account {
				return bad("principal.account", "%q differs from the account %q in principal.arn", p.Account, a.account)
			}
		}
		if p.IAMUserARN != "" {
			u, ok := splitARN(p.IAMUserARN)
			if !ok || u.service != "iam" || !strings.HasPrefix(u.resource, "user/") {
				return bad("principal.iamUserArn", "%q is not an IAM user ARN (arn:aws:iam::<account>:user/<name>)", p.IAMUserARN)
			}
			a, _ := splitARN(p.ARN)
			if a.service != "sts" || !strings.HasPrefix(a.resource, "federated-user/") || a.account != u.account {
				return bad("principal.iamUserArn", "is only for a federated-user session (principal.arn arn:aws:sts::<account>:federated-user/<name>) of the same account, got principal.arn %q", p.ARN)
			}
		}
		if p.Account != "" && !accountRe.MatchString(p.Account) {
			return bad("principal.account", "%q is not a 12-digit account ID", p.Account)
		}
		r.Principal = Principal{ARN: p.ARN, Account: p.Account, Tags: p.Tags, RoleARN: p.RoleARN,
			UserID: p.UserID, SourceIdentity: p.SourceIdentity, Service: p.Service, Federated: p.Federated, IAMUserARN: p.IAMUserARN}
	}
	for key, raw := range req.Context {
		values, err := contextValues(raw)
		if err != nil {
			return bad("context."+key, "%v", err)
		}
		if key == "" {
			return bad("context", "a context key must not be empty")
		}
		r.Context.Set(key, values...)
	}
	if v, ok := r.Context.Get("aws:CurrentTime"); ok && len(v) == 1 {
		if t, ok := parseDate(v[0]); ok {
			r.Time = t
		}
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}

	in := Input{Request: r, ResourceAccount: req.ResourceAccount}
	for i, raw := range req.IdentityPolicies {
		p, err := parseField(IdentityPolicy, fmt.Sprintf("identityPolicies[%d]", i), raw)
		if err != nil {
			return Input{}, err
		}
		in.Identity = append(in.Identity, p)
	}
	if present(req.ResourcePolicy) {
		kind := ResourcePolicy
		if !hasResourceElement(req.ResourcePolicy) {
			kind = TrustPolicy
		}
		p, err := parseField(kind, "resourcePolicy", req.ResourcePolicy)
		if err != nil {
			return Input{}, err
		}
		in.Resource = p
		in.RequireResourcePolicy = kind == TrustPolicy
	}
	if present(req.SessionPolicy) {
		p, err := parseField(SessionPolicy, "sessionPolicy", req.SessionPolicy)
		if err != nil {
			return Input{}, err
		}
		in.Session = []*Policy{p}
	}
	if present(req.PermissionsBoundary) {
		p, err := parseField(PermissionsBoundary, "permissionsBoundary", req.PermissionsBoundary)
		if err != nil {
			return Input{}, err
		}
		in.Boundary = p
	}
	return in, nil
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func parseField(kind Kind, field string, raw json.RawMessage) (*Policy, error) {
	p, err := Parse(kind, field+" ("+kind.String()+")", raw)
	if err != nil {
		var mp *MalformedPolicyError
		if errors.As(err, &mp) {
			problem := strings.TrimPrefix(err.Error(), "MalformedPolicyDocument: "+mp.Policy+": ")
			return nil, &InputError{Field: field, Problem: "MalformedPolicyDocument (" + kind.String() + "): " + problem}
		}
		return nil, &InputError{Field: field, Problem: err.Error()}
	}
	return p, nil
}

// hasResourceElement reports whether any statement has Resource or NotResource.
func hasResourceElement(raw json.RawMessage) bool {
	var doc struct{ Statement json.RawMessage }
	if json.Unmarshal(raw, &doc) != nil {
		return true // let Parse report the problem as a resource policy
	}
	var list []map[string]json.RawMessage
	if json.Unmarshal(doc.Statement, &list) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(doc.Statement, &one) != nil {
			return true
		}
		list = append(list, one)
	}
	for _, st := range list {
		if _, ok := st["Resource"]; ok {
			return true
		}
		if _, ok := st["NotResource"]; ok {
			return true
		}
	}
	return false
}

func contextValues(raw json.RawMessage) ([]string, error) {
	if !present(raw) {
		return nil, fmt.Errorf("must be a string or a list of strings, got null")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	return nil, fmt.Errorf("must be a string or a list of strings, got %s", bytes.TrimSpace(raw))
}
