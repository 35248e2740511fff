// Package sts is the AWS emulator's Security Token Service: AssumeRole with every input rule
// and authorization check STS applies (trust policy and caller policies evaluated separately
// for sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity; role chaining; transitive tags;
// immutable source identity; session policies), and GetCallerIdentity exactly as AWS answers it.
package sts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// XMLNS is the STS Query API namespace.
const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"

// APIVersion is the Version parameter STS takes.
const APIVersion = "2011-06-15"

// Handler serves STS actions over an identity store.
type Handler struct {
	store *iam.Store
	log   *slog.Logger
}

// NewHandler returns an STS handler. A nil logger discards.
func NewHandler(store *iam.Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{store: store, log: log}
}

// Serve runs one STS action for an authenticated call and returns the XML result (written by
// the router with query.WriteResult) or an *awserr.Error.
func (h *Handler) Serve(call *iam.Call) (any, error) {
	if v := call.Params.Version; v != APIVersion {
		return nil, awserr.New(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", call.Params.Action, v)
	}
	switch call.Params.Action {
	case "AssumeRole":
		return h.assumeRole(call)
	case "GetCallerIdentity":
		return h.getCallerIdentity(call)
	}
	return nil, awserr.New(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", call.Params.Action, APIVersion)
}

type callerIdentityResult struct {
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}

// getCallerIdentity needs no permission: AWS answers it even under an explicit deny.
func (h *Handler) getCallerIdentity(call *iam.Call) (any, error) {
	if err := call.Params.CheckUnknown(); err != nil {
		return nil, err
	}
	call.Trail.ReadOnly = true
	c := call.Caller
	return callerIdentityResult{Arn: c.ARN, UserID: c.UserID, Account: c.Account}, nil
}

// violations collects constraint failures so they can be reported together, as STS does
// ("2 validation errors detected: …; …").
type violations []string

func (v *violations) add(value, member, constraint string) {
	*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint))
}

func (v violations) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return awserr.Validation("1 validation error detected: %s", v[0])
	}
	return awserr.Validation("%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

// length records a length violation as STS's validator words it — the one bound that was broken
// ("Member must have length less than or equal to 64", as AWS answers for a 65-character
// roleSessionName), never both — and reports whether value's length is within bounds.
func (v *violations) length(value, member string, lo, hi int) bool {
	n := utf8.RuneCountInString(value)
	switch {
	case n < lo:
		v.add(value, member, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	case n > hi:
		v.add(value, member, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	default:
		return true
	}
	return false
}

func lengthBetween(s string, lo, hi int) bool {
	n := utf8.RuneCountInString(s)
	return n >= lo && n <= hi
}

func parseAssumeRole(p *query.Params) (AssumeRoleInput, error) {
	var in AssumeRoleInput
	var v violations
	var err error
	if in.RoleARN, err = p.Required("RoleArn"); err != nil {
		return in, err
	}
	if in.SessionName, err = p.Required("RoleSessionName"); err != nil {
		return in, err
	}
	if v.length(in.RoleARN, "roleArn", 20, 2048) && !roleARNChars(in.RoleARN) {
		v.add(in.RoleARN, "roleArn", "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+")
	}
	if v.length(in.SessionName, "roleSessionName", 2, 64) && !sessionNameChars(in.SessionName) {
		v.add(in.SessionName, "roleSessionName", "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	if si, ok := p.Get("SourceIdentity"); ok {
		in.SourceIdentity = si
		switch {
		case !v.length(si, "sourceIdentity", 2, 64):
		case !sessionNameChars(si):
			v.add(si, "sourceIdentity", "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
		case strings.HasPrefix(strings.ToLower(si), "aws:"):
			v.add(si, "sourceIdentity", "Member must not start with the reserved prefix 'aws:'")
		}
	}
	d, given, err := p.Int("DurationSeconds")
	if err != nil {
		return in, err
	}
	in.DurationSeconds, in.DurationGiven = 3600, given
	if given {
		in.DurationSeconds = d
		if d < 900 {
			v.add(fmt.Sprint(d), "durationSeconds", "Member must have value greater than or equal to 900")
		} else if d > 43200 {
			v.add(fmt.Sprint(d), "durationSeconds", "Member must have value less than or equal to 43200")
		}
	}
	tags, err := p.Structs("Tags", "Key", "Value")
	if err != nil {
		return in, err
	}
	if len(tags) > 50 {
		v.add(fmt.Sprintf("[%d tags]", len(tags)), "tags", "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for i, t := range tags {
		key, hasKey := t["Key"]
		val, hasVal := t["Value"]
		member := fmt.Sprintf("tags.%d.member", i+1)
		switch {
		case !hasKey:
			v.add("null", member+".key", "Member must not be null")
		case !v.length(key, member+".key", 1, 128):
		case !tagChars(key):
			v.add(key, member+".key", "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")
		}
		switch {
		case !hasVal:
			v.add("null", member+".value", "Member must not be null")
		case !v.length(val, member+".value", 0, 256):
		case !tagChars(val):
			v.add(val, member+".value", "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
		}
		if strings.HasPrefix(strings.ToLower(key), "aws:") {
			return in, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved: %s", key)
		}
		if seen[strings.ToLower(key)] {
			// AWS's words, recorded: the message names no key.
			return in, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(key)] = true
		in.Tags = append(in.Tags, iam.Tag{Key: key, Value: val})
	}
	if in.TransitiveTagKeys, err = p.List("TransitiveTagKeys"); err != nil {
		return in, err
	}
	if len(in.TransitiveTagKeys) > 50 {
		v.add(fmt.Sprintf("[%d keys]", len(in.TransitiveTagKeys)), "transitiveTagKeys", "Member must have length less than or equal to 50")
	}
	for _, k := range in.TransitiveTagKeys {
		if !seen[strings.ToLower(k)] {
			return in, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.")
		}
	}
	if pol, ok := p.Get("Policy"); ok {
		in.Policy = pol
		// The document is shown as [policy] rather than echoed.
		switch n := utf8.RuneCountInString(pol); {
		case n > 2048:
			v.add("[policy]", "policy", "Member must have length less than or equal to 2048")
		case n < 1:
			v.add("[policy]", "policy", "Member must have length greater than or equal to 1")
		case !policyChars(pol):
			v.add("[policy]", "policy", "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
		}
	}
	arns, err := p.Structs("PolicyArns", "arn")
	if err != nil {
		return in, err
	}
	if len(arns) > 10 {
		v.add(fmt.Sprintf("[%d policy ARNs]", len(arns)), "policyArns", "Member must have length less than or equal to 10")
	}
	for i, a := range arns {
		v.length(a["arn"], fmt.Sprintf("policyArns.%d.member.arn", i+1), 20, 2048)
		in.PolicyARNs = append(in.PolicyARNs, a["arn"])
	}
	if ext, ok := p.Get("ExternalId"); ok {
		in.ExternalID = ext
		if v.length(ext, "externalId", 2, 1224) && !externalIDChars(ext) {
			v.add(ext, "externalId", "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
		}
	}
	for _, unsupported := range []string{"SerialNumber", "TokenCode"} {
		if _, ok := p.Get(unsupported); ok {
			return in, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "%s (MFA) is not supported by the mcpsso emulator: no emulated principal has an MFA device", unsupported)
		}
	}
	if ctxs, _ := p.Structs("ProvidedContexts", "ProviderArn", "ContextAssertion"); len(ctxs) > 0 {
		return in, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "ProvidedContexts (trusted identity propagation) is not supported by the mcpsso emulator")
	}
	if err := v.err(); err != nil {
		return in, err
	}
	if !wellFormedARN(in.RoleARN) {
		// A RoleArn that is not an ARN is a ValidationError before any authorization, worded as
		// AWS answers it (recorded): "<value> is invalid".
		return in, awserr.Validation("%s is invalid", in.RoleARN)
	}
	return in, p.CheckUnknown()
}

// wellFormedARN reports whether s has an ARN's six colon-separated parts with a partition, a
// service and a resource (region and account may be empty, as in IAM's own ARNs).
func wellFormedARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] != "" && parts[5] != ""
}

// AssumeRoleResult is AssumeRole's <AssumeRoleResult> element, as STS writes it (and as the
// enforcing proxy reads an upstream's).
type AssumeRoleResult struct {
	Credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	AssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string
	}
	PackedPolicySize *int   `xml:",omitempty"`
	SourceIdentity   string `xml:",omitempty"`
}

// chained reports whether assuming a role with this caller is role chaining: using a role
// session's credentials to assume a role ("Role chaining" in
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html). A task
// role's credentials delivered to ECS are not counted as chaining: ECS issues them to the task,
// no caller assumed them (an inference; AWS does not say so for ECS in as many words).
func chained(c *iam.Caller) bool {
	return c.Kind == iam.CallerSession && c.Session.IssuedTo == ""
}

func (h *Handler) assumeRole(call *iam.Call) (any, error) {
	in, err := parseAssumeRole(call.Params)
	if err != nil {
		return nil, err
	}
	c := call.Caller
	params := cloudtrail.AssumeRoleParameters{RoleArn: in.RoleARN, RoleSessionName: in.SessionName, SourceIdentity: in.SourceIdentity,
		TransitiveTagKeys: in.TransitiveTagKeys, ExternalID: in.ExternalID, Policy: in.Policy}
	if in.DurationGiven {
		params.DurationSeconds = in.DurationSeconds
	}
	for _, t := range in.Tags {
		params.Tags = append(params.Tags, cloudtrail.Tag{Key: t.Key, Value: t.Value})
	}
	for _, a := range in.PolicyARNs {
		params.PolicyArns = append(params.PolicyArns, cloudtrail.PolicyARN{ARN: a})
	}
	call.Trail.RequestParameters = params.JSON()

	denied := func(action, why string) error {
		h.log.Info("sts decision", "decision", "deny", "action", action, "caller", c.ARN, "role_arn", in.RoleARN,
			"source_identity", in.SourceIdentity, "reason", why, "request_id", call.RequestID)
		return awserr.New(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, in.RoleARN)
	}

	// A role that does not exist is indistinguishable from one the caller may not assume.
	role, err := h.store.RoleByARN(in.RoleARN)
	if err != nil {
		return nil, denied("sts:AssumeRole", "role does not exist: "+err.Error())
	}
	call.Trail.Resources = []cloudtrail.Resource{{AccountID: role.Account, Type: "AWS::IAM::Role", ARN: role.ARN}}

	g, err := AuthorizeAssumeRole(h.store, call, in, role)
	var dn *Denial
	if errors.As(err, &dn) {
		h.log.Info("sts decision", "decision", "deny", "action", dn.Action, "caller", c.ARN, "role_arn", in.RoleARN,
			"source_identity", in.SourceIdentity, "reason", dn.Reason, "request_id", call.RequestID)
		return nil, err
	}
	if err != nil {
		return nil, err
	}

	// Managed session policies.
	sessionPolicies := g.SessionPolicies
	for _, arn := range in.PolicyARNs {
		mp, err := h.store.GetPolicy(arn)
		if err != nil {
			return nil, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "Policy %s does not exist or is not attachable as a session policy.", arn)
		}
		sessionPolicies = append(sessionPolicies, mp.Document)
	}
	var packed *int
	if in.Policy != "" || len(in.PolicyARNs) > 0 || len(g.Tags) > 0 {
		pct := packedPolicySize(in.Policy, in.PolicyARNs, g.Tags)
		if pct > 100 {
			return nil, awserr.New(http.StatusBadRequest, "PackedPolicyTooLarge", "Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
		}
		packed = &pct
	}

	now := h.store.Now().UTC()
	sess := h.store.AddSession(iam.Session{
		Issued: now, Expiration: now.Add(time.Duration(in.DurationSeconds) * time.Second).Truncate(time.Second),
		Account: role.Account, RoleARN: role.ARN, RoleName: role.Name, RoleID: role.ID, SessionName: in.SessionName,
		SourceIdentity: g.SourceIdentity, Tags: g.Tags, TransitiveTagKeys: g.TransitiveTagKeys,
		Policies: sessionPolicies, Chained: g.Chained,
	})
	h.store.MarkRoleUsed(role.Account, role.Name, call.Region, now)

	var res AssumeRoleResult
	res.Credentials.AccessKeyID = sess.AccessKeyID
	res.Credentials.SecretAccessKey = sess.SecretAccessKey
	res.Credentials.SessionToken = sess.SessionToken
	res.Credentials.Expiration = sess.Expiration.Format(time.RFC3339)
	res.AssumedRoleUser.AssumedRoleID = sess.UserID()
	res.AssumedRoleUser.Arn = sess.ARN()
	res.PackedPolicySize = packed
	res.SourceIdentity = sess.SourceIdentity

	elems := cloudtrail.AssumeRoleResponseElements{
		Credentials:     &cloudtrail.ResponseCredentials{AccessKeyID: sess.AccessKeyID, SessionToken: sess.SessionToken, Expiration: sess.Expiration},
		AssumedRoleUser: &cloudtrail.AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN()},
		SourceIdentity:  sess.SourceIdentity,
	}
	if packed != nil {
		elems.PackedPolicySize = *packed
	}
	call.Trail.ResponseElements = elems.JSON()
	// Every AssumeRole passes here: built only when the level is on, without boxing each value.
	if ctx := context.Background(); h.log.Enabled(ctx, slog.LevelInfo) {
		h.log.LogAttrs(ctx, slog.LevelInfo, "sts decision", slog.String("decision", "allow"), slog.String("action", "sts:AssumeRole"),
			slog.String("caller", c.ARN), slog.String("role_arn", role.ARN), slog.String("source_identity", sess.SourceIdentity),
			slog.String("session", sess.ARN()), slog.Any("tags", tagList(sess.Tags)), slog.Bool("chained", g.Chained),
			slog.Time("expires", sess.Expiration), slog.String("request_id", call.RequestID))
	}
	return res, nil
}

func tagList(tags []iam.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Key + "=" + t.Value
	}
	return out
}

// packedBudget is the size treated as 100% of the packed-policy allowance. AWS does not
// document its packing (a compressed binary form of the session policies and tags); this
// approximation counts the policy without white space, its ARNs and the tags, so that a
// 2,048-character policy packs to about two thirds and 50 maximal tags far exceed 100%, as
// they do on AWS.
const packedBudget = 3072

func packedPolicySize(policy string, arns []string, tags []iam.Tag) int {
	n := len(strings.Join(strings.Fields(policy), ""))
	for _, a := range arns {
		n += len(a)
	}
	for _, t := range tags {
		n += len(t.Key) + len(t.Value) + 2
	}
	return int(math.Ceil(float64(n) * 100 / packedBudget))
}
