package enforce

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sts"
)

// assumeRoleResponse is AssumeRole's XML answer, which the proxy learns sessions from.
type assumeRoleResponse struct {
	Result sts.AssumeRoleResult `xml:"AssumeRoleResult"`
}

// assumeRole authorizes AssumeRole exactly as the emulator's STS does — the trust policy as
// resource policy and the caller's identity policies, for sts:AssumeRole, sts:TagSession and
// sts:SetSourceIdentity each — relays it when allowed and learns the issued session.
func (p *Proxy) assumeRole(w http.ResponseWriter, r *http.Request, body []byte, call *iam.Call) {
	const action = "AssumeRole"
	fail := func(err error) { p.deny(w, r, "sts", action, call, err) }
	in, err := sts.ParseAssumeRoleInput(call.Params)
	if err != nil {
		fail(err)
		return
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
	call.Trail.RequestParameters = params.JSON()
	if len(in.PolicyARNs) > 0 {
		fail(awserr.New(http.StatusBadRequest, "InvalidParameterValue", "managed session policies (PolicyArns) are not supported by the enforcing proxy"))
		return
	}
	denied := func(act string) error {
		return awserr.New(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s", c.ARN, act, in.RoleARN)
	}
	role, err := p.roleByARN(r.Context(), in.RoleARN)
	if err != nil {
		fail(err)
		return
	}
	if role == nil { // a role that does not exist is indistinguishable from a forbidden one
		fail(denied("sts:AssumeRole"))
		return
	}
	call.Trail.Resources = []cloudtrail.Resource{{AccountID: role.Account, Type: "AWS::IAM::Role", ARN: role.ARN}}

	g, err := sts.AuthorizeAssumeRole(p.store, call, in, role)
	if err != nil {
		fail(err)
		return
	}

	status, resp, errCode, errMsg := p.relayRewriting(w, r, body, true, func(b []byte) []byte { return withSourceIdentity(b, g.SourceIdentity) })
	if status == http.StatusOK {
		var ar assumeRoleResponse
		if err := xml.Unmarshal(resp, &ar); err != nil || ar.Result.Credentials.AccessKeyID == "" {
			errCode, errMsg = "InternalFailure", fmt.Sprintf("the upstream's AssumeRole answer could not be read: %v", err)
		} else {
			cr := ar.Result.Credentials
			exp, err := time.Parse(time.RFC3339, cr.Expiration)
			if err != nil {
				exp = p.now().Add(time.Duration(in.DurationSeconds) * time.Second)
			}
			sess := iam.Session{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken,
				Issued: p.now().UTC(), Expiration: exp.UTC(), Account: role.Account, RoleARN: role.ARN, RoleName: role.Name, RoleID: role.ID,
				SessionName: in.SessionName, SourceIdentity: g.SourceIdentity, Tags: g.Tags,
				TransitiveTagKeys: g.TransitiveTagKeys, Policies: g.SessionPolicies, Chained: g.Chained}
			p.learn(sess)
			call.Trail.ResponseElements = cloudtrail.AssumeRoleResponseElements{
				Credentials:     &cloudtrail.ResponseCredentials{AccessKeyID: sess.AccessKeyID, SessionToken: sess.SessionToken, Expiration: sess.Expiration},
				AssumedRoleUser: &cloudtrail.AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN()},
				SourceIdentity:  sess.SourceIdentity,
			}.JSON()
		}
	}
	p.record("sts", action, call, errCode, errMsg, nil)
}

// TaskRole issues credentials for roleARN as ECS does for a task role: the role's trust policy
// must allow the ecs-tasks.amazonaws.com service principal; the proxy then assumes the role at
// the upstream with the admin key and learns the session (not role chaining when it assumes
// other roles). The decision is recorded like any other.
func (p *Proxy) TaskRole(ctx context.Context, roleARN string) (aws.Credentials, error) {
	now := p.now().UTC()
	ev := cloudtrail.Event{
		UserIdentity: cloudtrail.UserIdentity{Type: cloudtrail.IdentityAWSService, InvokedBy: ECSTasksService},
		EventTime:    now, EventSource: "sts.amazonaws.com", EventName: "AssumeRole", AWSRegion: DefaultRegion,
		SourceIPAddress: ECSTasksService, UserAgent: ECSTasksService, RecipientAccountID: p.cfg.account,
		EventCategory: cloudtrail.CategoryManagement, ManagementEvent: true,
	}
	fail := func(err error) (aws.Credentials, error) {
		ae := awserr.As(err)
		ev.ErrorCode, ev.ErrorMessage = ae.Code, ae.Message
		_ = p.trail.Add(ev)
		return aws.Credentials{}, err
	}
	role, err := p.roleByARN(ctx, roleARN)
	if err != nil {
		return fail(err)
	}
	if role == nil {
		return fail(awserr.New(http.StatusForbidden, "AccessDenied", "ECS cannot assume %s: no such role", roleARN))
	}
	ev.Resources = []cloudtrail.Resource{{AccountID: role.Account, Type: "AWS::IAM::Role", ARN: role.ARN}}
	d := iampolicy.Decide(iampolicy.Input{Request: &iampolicy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Time: now,
		Principal: iampolicy.Principal{Service: ECSTasksService}}, Resource: role.TrustPolicy, ResourceAccount: role.Account})
	if !d.Allowed() {
		return fail(awserr.New(http.StatusForbidden, "AccessDenied", "ECS cannot assume %s: %s", roleARN, d.Reason))
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	name := hex.EncodeToString(id[:])
	out, err := p.stsc.AssumeRole(ctx, &stssdk.AssumeRoleInput{RoleArn: aws.String(role.ARN), RoleSessionName: aws.String(name),
		DurationSeconds: aws.Int32(int32(min(taskRoleLifetime/time.Second, time.Duration(role.MaxSessionDuration))))})
	if err != nil {
		return fail(errUpstream("task-role credentials for "+roleARN, err))
	}
	cr := out.Credentials
	sess := iam.Session{AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey),
		SessionToken: aws.ToString(cr.SessionToken), Issued: now, Expiration: aws.ToTime(cr.Expiration).UTC(), Account: role.Account,
		RoleARN: role.ARN, RoleName: role.Name, RoleID: role.ID, SessionName: name, IssuedTo: ECSTasksService}
	p.learn(sess)
	ev.RequestParameters = cloudtrail.AssumeRoleParameters{RoleArn: role.ARN, RoleSessionName: name}.JSON()
	ev.ResponseElements = cloudtrail.AssumeRoleResponseElements{
		Credentials:     &cloudtrail.ResponseCredentials{AccessKeyID: sess.AccessKeyID, SessionToken: sess.SessionToken, Expiration: sess.Expiration},
		AssumedRoleUser: &cloudtrail.AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN()},
	}.JSON()
	_ = p.trail.Add(ev)
	return aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken,
		CanExpire: true, Expires: sess.Expiration, Source: "enforce task role"}, nil
}

var sourceIdentityElem = regexp.MustCompile(`<SourceIdentity>[^<]*</SourceIdentity>`)

// withSourceIdentity makes an AssumeRole answer carry the session's source identity, as STS's
// does: moto never includes it, and an upstream cannot know one inherited through role
// chaining, which the proxy decides.
func withSourceIdentity(resp []byte, sourceIdentity string) []byte {
	if sourceIdentity == "" {
		return resp
	}
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte(sourceIdentity))
	elem := "<SourceIdentity>" + esc.String() + "</SourceIdentity>"
	if sourceIdentityElem.Match(resp) {
		return sourceIdentityElem.ReplaceAllLiteral(resp, []byte(elem))
	}
	return bytes.Replace(resp, []byte("</AssumeRoleResult>"), []byte(elem+"</AssumeRoleResult>"), 1)
}
