package iam

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// Call is one request as the emulator's router hands it to a service (IAM, STS, S3): who
// calls (nil Caller: an anonymous S3 request), with what, and the CloudTrail details the
// service fills in. Params is set for Query-protocol services only.
type Call struct {
	Caller    *Caller
	Params    *query.Params
	RequestID string
	SourceIP  string
	UserAgent string
	Region    string
	Secure    bool // the request came over TLS (aws:SecureTransport)
	Time      time.Time
	// Trail is what the service adds to the request's CloudTrail record.
	Trail TrailNote
	// Decision is the policy decision that allowed or denied the call, for the decision log.
	Decision *iampolicy.Decision
}

// NewCall starts the Call of an HTTP request: its ID, where it came from, with which client,
// in which region, over TLS or not, and when. The router (or the enforcing proxy) then sets
// the Caller.
func NewCall(r *http.Request, requestID, region string, now time.Time) *Call {
	return &Call{RequestID: requestID, SourceIP: SourceIP(r), UserAgent: r.UserAgent(), Region: region, Secure: r.TLS != nil, Time: now}
}

// SourceIP is the address a request came from, as CloudTrail's sourceIPAddress and
// aws:SourceIp see it.
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// TrailNote is the service-specific part of a CloudTrail record.
type TrailNote struct {
	RequestParameters json.RawMessage
	ResponseElements  json.RawMessage
	Resources         []cloudtrail.Resource
	ReadOnly          bool
}

// Request starts a policy request for this call with the global keys AWS supplies for every
// request (aws:SourceIp, aws:SecureTransport, aws:RequestedRegion, aws:UserAgent,
// aws:CurrentTime through Time).
func (c *Call) Request(action, resource string) *iampolicy.Request {
	r := &iampolicy.Request{Action: action, Resource: resource, Time: c.Time}
	if c.SourceIP != "" {
		r.Context.Set("aws:SourceIp", c.SourceIP)
	}
	r.Context.Set("aws:SecureTransport", strconv.FormatBool(c.Secure))
	if c.Region != "" {
		r.Context.Set("aws:RequestedRegion", c.Region)
	}
	if c.UserAgent != "" {
		r.Context.Set("aws:UserAgent", c.UserAgent)
	}
	return r
}

// Authorize decides r for the call's caller and returns AccessDenied (worded as AWS words it)
// unless allowed. The decision is kept on the call for the decision log.
func (c *Call) Authorize(store *Store, r *iampolicy.Request, resourcePolicy *iampolicy.Policy, resourceAccount string) error {
	d := store.Authorize(c.Caller, r, resourcePolicy, resourceAccount)
	c.Decision = &d
	if d.Allowed() {
		return nil
	}
	if c.Caller == nil {
		return awserr.New(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	return awserr.New(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s", c.Caller.ARN, r.Action, r.Resource)
}

// SetTrail records request parameters and response elements (marshalled to JSON).
func (c *Call) SetTrail(params, response any) {
	if params != nil {
		c.Trail.RequestParameters, _ = json.Marshal(params)
	}
	if response != nil {
		c.Trail.ResponseElements, _ = json.Marshal(response)
	}
}

// UserIdentity is the CloudTrail userIdentity of the caller. A nil caller is an anonymous S3
// request, which CloudTrail writes as an AWSAccount of "ANONYMOUS_PRINCIPAL".
func (c *Caller) UserIdentity() cloudtrail.UserIdentity {
	if c == nil {
		return cloudtrail.UserIdentity{Type: "AWSAccount", AccountID: "ANONYMOUS_PRINCIPAL"}
	}
	u := cloudtrail.UserIdentity{PrincipalID: c.UserID, ARN: c.ARN, AccountID: c.Account, AccessKeyID: c.AccessKeyID}
	switch c.Kind {
	case CallerUser:
		u.Type, u.UserName = cloudtrail.IdentityIAMUser, c.User.Name
	case CallerSession:
		s := c.Session
		u.Type = cloudtrail.IdentityAssumedRole
		u.SessionContext = &cloudtrail.SessionContext{
			SessionIssuer:  &cloudtrail.SessionIssuer{Type: "Role", PrincipalID: s.RoleID, ARN: s.RoleARN, AccountID: s.Account, UserName: s.RoleName},
			Attributes:     cloudtrail.SessionAttributes{CreationDate: s.Issued},
			SourceIdentity: s.SourceIdentity,
		}
	}
	return u
}
