package iam

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// XMLNS is the IAM Query API's XML namespace.
const XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"

// APIVersion is the only IAM API version there is.
const APIVersion = "2010-05-08"

// Handler serves the IAM Query API over a Store. Every action is itself authorized against the
// caller's policies, with the action and resource the Service Authorization Reference lists
// for it, before anything changes.
type Handler struct {
	store *Store
	log   *slog.Logger
}

// NewHandler returns an IAM handler over store. It logs nothing until WithLogger is called.
func NewHandler(store *Store) *Handler {
	return &Handler{store: store, log: slog.New(slog.DiscardHandler)}
}

// WithLogger sets where the handler writes what IAM's API has no field for: the reason behind
// each simulated decision (SimulatePrincipalPolicy, SimulateCustomPolicy), its near misses and
// the context keys the action ignored, and where in a document a MalformedPolicyDocument (worded
// as IAM words it) found the problem. Call it before serving. It returns h.
func (h *Handler) WithLogger(l *slog.Logger) *Handler {
	if l != nil {
		h.log = l
	}
	return h
}

type actionFunc func(h *Handler, c *Call) (any, error)

var actions = map[string]actionFunc{
	"CreateRole":               (*Handler).createRole,
	"GetRole":                  (*Handler).getRole,
	"ListRoles":                (*Handler).listRoles,
	"DeleteRole":               (*Handler).deleteRole,
	"UpdateAssumeRolePolicy":   (*Handler).updateAssumeRolePolicy,
	"PutRolePolicy":            (*Handler).putRolePolicy,
	"GetRolePolicy":            (*Handler).getRolePolicy,
	"DeleteRolePolicy":         (*Handler).deleteRolePolicy,
	"ListRolePolicies":         (*Handler).listRolePolicies,
	"AttachRolePolicy":         (*Handler).attachRolePolicy,
	"DetachRolePolicy":         (*Handler).detachRolePolicy,
	"ListAttachedRolePolicies": (*Handler).listAttachedRolePolicies,
	"TagRole":                  (*Handler).tagRole,
	"UntagRole":                (*Handler).untagRole,
	"ListRoleTags":             (*Handler).listRoleTags,
	"CreatePolicy":             (*Handler).createPolicy,
	"GetPolicy":                (*Handler).getPolicy,
	"GetPolicyVersion":         (*Handler).getPolicyVersion,
	"DeletePolicy":             (*Handler).deletePolicy,
	"CreateUser":               (*Handler).createUser,
	"GetUser":                  (*Handler).getUser,
	"CreateAccessKey":          (*Handler).createAccessKey,
	"PutUserPolicy":            (*Handler).putUserPolicy,
	"AttachUserPolicy":         (*Handler).attachUserPolicy,
	"DetachUserPolicy":         (*Handler).detachUserPolicy,
	"ListAttachedUserPolicies": (*Handler).listAttachedUserPolicies,
	"SimulatePrincipalPolicy":  (*Handler).simulatePrincipalPolicy,
	"SimulateCustomPolicy":     (*Handler).simulateCustomPolicy,
}

// Serve runs one IAM action. The router has already verified SigV4, resolved call.Caller and
// parsed call.Params. Serve returns the XML result value (nil for actions whose response has
// no Result element) or an *awserr.Error. The account acted on is the caller's.
func (h *Handler) Serve(call *Call) (result any, err error) {
	p := call.Params
	if p.Version != APIVersion {
		return nil, awserr.New(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", p.Action, p.Version)
	}
	fn, ok := actions[p.Action]
	if !ok {
		return nil, awserr.New(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", p.Action, APIVersion)
	}
	// CloudTrail marks IAM's Get*, List* and Simulate* events read-only, failed ones included.
	call.Trail.ReadOnly = strings.HasPrefix(p.Action, "Get") || strings.HasPrefix(p.Action, "List") || strings.HasPrefix(p.Action, "Simulate")
	result, err = fn(h, call)
	var pp *policyProblem
	if errors.As(err, &pp) {
		// The message is IAM's reason; the log says where in the document the problem is.
		h.log.Info("iam malformed policy", "request_id", call.RequestID, "action", p.Action,
			"error_message", pp.ae.Message, "detail", pp.detail)
	}
	return result, err
}

// authorize asks whether the caller may perform action on resource. set adds the action's own
// condition keys (aws:RequestTag/*, iam:PermissionsBoundary, …).
func (h *Handler) authorize(c *Call, action, resource string, set func(*iampolicy.Request)) error {
	r := c.Request(action, resource)
	if set != nil {
		set(r)
	}
	return c.Authorize(h.store, r, nil, "")
}

// Condition-key helpers (Service Authorization Reference, IAM: the role and user resource
// types carry aws:ResourceTag/* and iam:ResourceTag/*; creating and tagging actions carry
// aws:RequestTag/* and aws:TagKeys).

func resourceTags(tags []Tag) func(*iampolicy.Request) {
	return func(r *iampolicy.Request) {
		for _, t := range tags {
			r.Context.Set("aws:ResourceTag/"+t.Key, t.Value)
			r.Context.Set("iam:ResourceTag/"+t.Key, t.Value)
		}
	}
}

func requestTags(r *iampolicy.Request, tags []Tag) {
	if len(tags) == 0 {
		return
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		r.Context.Set("aws:RequestTag/"+t.Key, t.Value)
		keys[i] = t.Key
	}
	r.Context.Set("aws:TagKeys", keys...)
}

func all(fns ...func(*iampolicy.Request)) func(*iampolicy.Request) {
	return func(r *iampolicy.Request) {
		for _, f := range fns {
			if f != nil {
				f(r)
			}
		}
	}
}

// roleTarget is the role an action names: its ARN (with its path when it exists) and, when it
// exists, the role itself.
func (h *Handler) roleTarget(account, name string) (string, *Role) {
	if r, err := h.store.GetRole(account, name); err == nil {
		return r.ARN, r
	}
	return "arn:aws:iam::" + account + ":role/" + name, nil
}

func (h *Handler) userTarget(account, name string) (string, *User) {
	if u, err := h.store.GetUser(account, name); err == nil {
		return u.ARN, u
	}
	return "arn:aws:iam::" + account + ":user/" + name, nil
}

// boundaryKeyActions are the role actions whose Service Authorization Reference entry lists
// iam:PermissionsBoundary. Supplying it elsewhere could defeat a Deny written with a negated
// operator on it, so it is supplied for these only.
var boundaryKeyActions = map[string]bool{"iam:PutRolePolicy": true, "iam:DeleteRolePolicy": true,
	"iam:AttachRolePolicy": true, "iam:DetachRolePolicy": true}

// roleKeys are the condition keys of an action on an existing role: its tags and, for the
// actions that have it, iam:PermissionsBoundary.
func roleKeys(r *Role, action string) func(*iampolicy.Request) {
	return func(req *iampolicy.Request) {
		if r == nil {
			return
		}
		resourceTags(r.Tags)(req)
		if boundaryKeyActions[action] && r.BoundaryARN != "" {
			req.Context.Set("iam:PermissionsBoundary", r.BoundaryARN)
		}
	}
}

// ---- parameters ----

// readTags reads Tags.member.N.Key/Value; both are required members.
func readTags(p *query.Params, name string) ([]Tag, error) {
	items, err := p.Structs(name, "Key", "Value")
	if err != nil {
		return nil, err
	}
	tags := make([]Tag, len(items))
	for i, it := range items {
		k, ok := it["Key"]
		if !ok {
			return nil, awserr.Validation("1 validation error detected: Value null at '%s.%d.member.key' failed to satisfy constraint: Member must not be null", lowerFirst(name), i+1)
		}
		v, ok := it["Value"]
		if !ok {
			return nil, awserr.Validation("1 validation error detected: Value null at '%s.%d.member.value' failed to satisfy constraint: Member must not be null", lowerFirst(name), i+1)
		}
		tags[i] = Tag{Key: k, Value: v}
	}
	return tags, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// entityName reads a required entity name and checks IAM's pattern and length.
func entityName(p *query.Params, param string, max int) (string, error) {
	v, err := p.Required(param)
	if err != nil {
		return "", err
	}
	return v, checkName(lowerFirst(param), v, max)
}

func policyDocChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xFF
}

// document reads a required policy document (1..131072 characters of
// [\u0009\u000A\u000D\u0020-\u00FF]).
func document(p *query.Params, param string) (string, error) {
	v, err := p.Required(param)
	if err != nil {
		return "", err
	}
	if v == "" || len([]rune(v)) > 131072 || strings.IndexFunc(v, func(r rune) bool { return !policyDocChar(r) }) >= 0 {
		return "", query.Constraint(param, abbreviate(v), "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+ and have length between 1 and 131072")
	}
	return v, nil
}

// abbreviate shortens a long value for an error message.
func abbreviate(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// arnParam reads an ARN parameter (20..2048 characters).
func arnParam(p *query.Params, param string, required bool) (string, error) {
	v, ok := p.Get(param)
	if !ok {
		if required {
			return p.Required(param)
		}
		return "", nil
	}
	if n := len(v); n < 20 || n > 2048 || !strings.HasPrefix(v, "arn:") {
		return "", awserr.New(http.StatusBadRequest, "InvalidInput", "ARN %s is not valid.", v)
	}
	return v, nil
}

// pageRequest is MaxItems and Marker, read before the action runs.
type pageRequest struct {
	max    int
	marker string // decoded: the key of the first item of the page
	action string
}

func readPage(p *query.Params) (pageRequest, error) {
	pr := pageRequest{max: 100, action: p.Action}
	n, given, err := p.Int("MaxItems")
	if err != nil {
		return pr, err
	}
	if given {
		switch {
		case n < 1:
			return pr, query.Constraint("MaxItems", strconv.Itoa(n), "Member must have value greater than or equal to 1")
		case n > 1000:
			return pr, query.Constraint("MaxItems", strconv.Itoa(n), "Member must have value less than or equal to 1000")
		}
		pr.max = n
	}
	if m, ok := p.Get("Marker"); ok {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		key, found := strings.CutPrefix(string(raw), p.Action+"\x00")
		if err != nil || !found {
			return pr, awserr.New(http.StatusBadRequest, "InvalidInput", "Marker %q was not returned by %s: pass the Marker of the previous response unchanged.", abbreviate(m), p.Action)
		}
		pr.marker = key
	}
	return pr, nil
}

// paginate cuts items, sorted by key, into the requested page. The marker names the first key
// of the next page, so deleting items already listed does not make the next page skip any.
func paginate[T any](pr pageRequest, items []T, key func(T) string) (page []T, truncated bool, marker string) {
	start := 0
	if pr.marker != "" {
		for start < len(items) && key(items[start]) < pr.marker {
			start++
		}
	}
	end := min(start+pr.max, len(items))
	if end < len(items) {
		truncated = true
		marker = base64.RawURLEncoding.EncodeToString([]byte(pr.action + "\x00" + key(items[end])))
	}
	return items[start:end], truncated, marker
}

// ---- encodings ----

// urlEncode escapes a policy document as IAM returns it: RFC 3986, every byte but the
// unreserved characters percent-encoded. The SDKs do not decode it; url.QueryUnescape does.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// isoTime is IAM's XML timestamp: ISO 8601 in UTC, seconds precision.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// trailTime is how IAM's CloudTrail responseElements write dates ("Oct 26, 2019 10:19:16 PM").
func trailTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006 3:04:05 PM") }

// ---- shared XML shapes (element names as the aws-sdk-go-v2 iam schema has them) ----

// members is a Query-protocol list: <Name><member>…</member>…</Name>, present even when empty.
type members[T any] struct {
	Member []T `xml:"member"`
}

type xmlTag struct {
	Key   string
	Value string
}

func xmlTags(tags []Tag) []xmlTag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]xmlTag, len(tags))
	for i, t := range tags {
		out[i] = xmlTag(t)
	}
	return out
}

// ---- CloudTrail ----

type trailTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func trailTags(tags []Tag) []trailTag {
	out := make([]trailTag, len(tags))
	for i, t := range tags {
		out[i] = trailTag(t)
	}
	return out
}

func roleResource(r *Role) []cloudtrail.Resource {
	return []cloudtrail.Resource{{AccountID: r.Account, Type: "AWS::IAM::Role", ARN: r.ARN}}
}

func trailResource(account, typ, arn string) []cloudtrail.Resource {
	return []cloudtrail.Resource{{AccountID: account, Type: typ, ARN: arn}}
}

// unsupported is the error for a parameter IAM has and the emulator does not implement: it
// refuses rather than ignore something that would change the outcome.
func unsupported(action, param, why string) error {
	return awserr.New(http.StatusBadRequest, "InvalidInput", "%s: the mcpsso IAM emulator does not support %s (%s)", action, param, why)
}
