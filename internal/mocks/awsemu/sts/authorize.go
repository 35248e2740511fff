package sts

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// Grant is what an authorized AssumeRole gives the new session.
type Grant struct {
	// SourceIdentity is the one passed, or the one inherited from a chained caller.
	SourceIdentity string
	// Tags are the inherited transitive tags, then the passed ones.
	Tags []iam.Tag
	// TransitiveTagKeys are the inherited transitive keys, then the passed ones.
	TransitiveTagKeys []string
	// Chained says the caller is a role session (role chaining).
	Chained bool
	// SessionPolicies holds the inline session policy, if one was passed (managed ones, from
	// PolicyArns, are the caller's to resolve).
	SessionPolicies []*iampolicy.Policy
}

// Denial is an AccessDenied together with the action and the reason that decided it, for the
// decision log; AWS's answer names only the action.
type Denial struct {
	Action string
	Reason string
	err    *awserr.Error
}

func (d *Denial) Error() string { return d.err.Error() }

// Unwrap is the AccessDenied error AWS would answer.
func (d *Denial) Unwrap() error { return d.err }

// AuthorizeAssumeRole applies STS's rules to an AssumeRole of role by the call's caller: a
// source identity inherited from a chained caller and never changed, transitive tags
// inherited and never overridden; sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity
// each authorized against the trust policy and the caller's own policies, with the condition
// keys STS supplies; then, so that a caller who may not assume the role learns nothing about
// it, the duration limits and the inline session policy. The emulator's STS and the enforcing
// proxy both decide through it.
func AuthorizeAssumeRole(store *iam.Store, call *iam.Call, in AssumeRoleInput, role *iam.Role) (Grant, error) {
	c := call.Caller
	denied := func(action, why string) error {
		return &Denial{Action: action, Reason: why, err: awserr.New(http.StatusForbidden, "AccessDenied",
			"User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, in.RoleARN)}
	}
	g := Grant{SourceIdentity: in.SourceIdentity, Chained: chained(c)}
	var inheritedTags []iam.Tag
	var inheritedTransitive []string
	if c.Kind == iam.CallerSession {
		if prev := c.Session.SourceIdentity; prev != "" {
			if in.SourceIdentity != "" && in.SourceIdentity != prev {
				return Grant{}, denied("sts:SetSourceIdentity", fmt.Sprintf("the caller's session has source identity %q, which cannot change to %q", prev, in.SourceIdentity))
			}
			g.SourceIdentity = prev
		}
		for _, k := range c.Session.TransitiveTagKeys {
			for _, t := range c.Session.Tags {
				if strings.EqualFold(t.Key, k) {
					inheritedTags = append(inheritedTags, t)
					inheritedTransitive = append(inheritedTransitive, t.Key)
				}
			}
		}
		for _, t := range in.Tags {
			for _, it := range inheritedTags {
				if strings.EqualFold(t.Key, it.Key) {
					return Grant{}, awserr.New(http.StatusBadRequest, "InvalidParameterValue",
						"The session tag %s conflicts with a transitive tag inherited from the calling session; a transitive tag cannot be overridden", t.Key)
				}
			}
		}
	}
	g.Tags = append(inheritedTags, in.Tags...)
	g.TransitiveTagKeys = append(inheritedTransitive, in.TransitiveTagKeys...)

	// One request context; the engine shows each action only its own keys.
	req := call.Request("sts:AssumeRole", role.ARN)
	var tagKeys []string
	for _, t := range in.Tags {
		req.Context.Set("aws:RequestTag/"+t.Key, t.Value)
		tagKeys = append(tagKeys, t.Key)
	}
	if len(tagKeys) > 0 {
		req.Context.Set("aws:TagKeys", tagKeys...)
	}
	if len(in.TransitiveTagKeys) > 0 {
		req.Context.Set("sts:TransitiveTagKeys", in.TransitiveTagKeys...)
	}
	if g.SourceIdentity != "" {
		req.Context.Set("sts:SourceIdentity", g.SourceIdentity)
	}
	req.Context.Set("sts:RoleSessionName", in.SessionName)
	if in.ExternalID != "" {
		req.Context.Set("sts:ExternalId", in.ExternalID)
	}
	for _, t := range role.Tags {
		req.Context.Set("aws:ResourceTag/"+t.Key, t.Value)
	}

	// Each action is authorized on its own: the trust policy must allow it, and so must the
	// caller's own policies unless the trust policy names the caller (iampolicy.Decide).
	var actionsBuf [3]string
	actions := append(actionsBuf[:0], "sts:AssumeRole")
	if len(g.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if g.SourceIdentity != "" {
		// Also when inherited: the stricter reading of "the source identity persists".
		actions = append(actions, "sts:SetSourceIdentity")
	}
	for _, action := range actions {
		req.Action = action // one request for the three: a decision keeps nothing of it
		d := store.Authorize(c, req, role.TrustPolicy, role.Account)
		call.Decision = &d
		if !d.Allowed() {
			return Grant{}, denied(action, d.Reason)
		}
	}

	if g.Chained && in.DurationGiven && in.DurationSeconds > 3600 {
		return Grant{}, awserr.Validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if in.DurationSeconds > role.MaxSessionDuration {
		return Grant{}, awserr.Validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if in.Policy != "" {
		sp, err := iampolicy.Parse(iampolicy.SessionPolicy, "session policy of "+in.SessionName, []byte(in.Policy))
		if err != nil {
			return Grant{}, awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", "%s", strings.TrimPrefix(err.Error(), "MalformedPolicyDocument: "))
		}
		g.SessionPolicies = append(g.SessionPolicies, sp)
	}
	return g, nil
}
