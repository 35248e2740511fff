package iampolicy

import (
	"sort"
	"strings"
	"time"
)

// Request is one authorization question: may Principal perform Action on Resource, given the
// condition keys in Context? A Request is read, never written, by evaluation.
type Request struct {
	// Action is "service:Operation", e.g. "s3:GetObject" (matched case-insensitively).
	Action string
	// Resource is the ARN acted on, e.g. "arn:aws:s3:::bucket/key" or a role ARN for sts:AssumeRole.
	Resource string
	// Principal is who asks.
	Principal Principal
	// Context holds the request's condition keys. Keys derived from Principal (aws:PrincipalArn,
	// aws:PrincipalAccount, aws:PrincipalTag/*, aws:SourceIdentity, aws:userid, aws:username,
	// aws:PrincipalType) and from Time (aws:CurrentTime, aws:EpochTime) are supplied
	// automatically; a key set here takes precedence.
	Context Context
	// Time is the request time; zero means time.Now() when a policy asks for it.
	Time time.Time
}

// Principal describes the caller. The zero value is the anonymous principal.
type Principal struct {
	// ARN is the caller's ARN: an IAM user or role, an account root, or an assumed-role session
	// "arn:aws:sts::<acct>:assumed-role/<role>/<session>".
	ARN string
	// Account is the caller's 12-digit account ID; derived from ARN when empty.
	Account string
	// RoleARN is the full ARN (with path) of the role behind an assumed-role session, when known;
	// it becomes aws:PrincipalArn. When empty it is derived from ARN without a path.
	RoleARN string
	// IAMUserARN is, for a federated-user session (GetFederationToken), the IAM user whose
	// long-term credentials created it; a resource policy naming that user grants the session
	// only within its session policies.
	IAMUserARN string
	// UserID is aws:userid, e.g. "AROAEXAMPLE:session" for a role session.
	UserID string
	// Tags are the principal's tags (role or user tags, overridden by session tags); they
	// become aws:PrincipalTag/<key>, matched case-insensitively.
	Tags map[string]string
	// SourceIdentity is the session's source identity; it becomes aws:SourceIdentity.
	SourceIdentity string
	// Service is set for an AWS service principal, e.g. "ecs-tasks.amazonaws.com".
	Service string
	// Federated is set for a web-identity or SAML principal: the provider's name or ARN.
	Federated string
}

// Context is a set of condition keys, each with one or more string values. Key names are
// case-insensitive, as in IAM. The zero value is empty and ready to use.
type Context struct {
	m map[string]ctxEntry // lower-cased key → entry
}

type ctxEntry struct {
	name   string // as the caller spelled it
	values []string
}

// Set replaces the values of key. Multi-valued keys such as aws:TagKeys take several values.
func (c *Context) Set(key string, values ...string) {
	if c.m == nil {
		c.m = make(map[string]ctxEntry)
	}
	c.m[lowerKey(key)] = ctxEntry{name: key, values: values}
}

// lowered maps the keys the emulator sets on every request to their lower case, so that
// setting them does not allocate the lower-cased copy each time.
var lowered = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"aws:SourceIp", "aws:SecureTransport", "aws:RequestedRegion", "aws:UserAgent", "aws:TagKeys",
		"aws:ResourceAccount", "sts:SourceIdentity", "sts:RoleSessionName", "sts:TransitiveTagKeys", "sts:ExternalId",
		"s3:ResourceAccount", "s3:authType", "s3:signatureAge"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// lowerKey is strings.ToLower(key).
func lowerKey(key string) string {
	if l, ok := lowered[key]; ok {
		return l
	}
	return strings.ToLower(key)
}

// Delete removes key.
func (c *Context) Delete(key string) { delete(c.m, strings.ToLower(key)) }

// Get returns the values of key and whether it is present.
func (c Context) Get(key string) ([]string, bool) {
	e, ok := c.m[strings.ToLower(key)]
	return e.values, ok
}

// Keys lists the present keys as they were set, sorted.
func (c Context) Keys() []string {
	keys := make([]string, 0, len(c.m))
	for _, e := range c.m {
		keys = append(keys, e.name)
	}
	sort.Strings(keys)
	return keys
}

// Len is the number of keys.
func (c Context) Len() int { return len(c.m) }

// lookupLower finds a key already lower-cased, without allocating.
func (c Context) lookupLower(key string) ([]string, bool) {
	e, ok := c.m[key]
	return e.values, ok
}
