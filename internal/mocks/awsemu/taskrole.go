package awsemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// ECSTasksPrincipal is the service principal ECS assumes task roles as.
const ECSTasksPrincipal = "ecs-tasks.amazonaws.com"

// TaskRoleLifetime is how long task-role credentials last; ECS rotates them well before.
const TaskRoleLifetime = 6 * time.Hour

// TaskRole returns a credential source for ECS's container-credentials endpoint: each call
// assumes roleARN as ecs-tasks.amazonaws.com does on Fargate, so the role's trust policy must
// allow that service principal. Sessions it issues are not role chaining when they assume
// other roles.
func (e *Emulator) TaskRole(roleARN string) ecscreds.Source {
	return ecscreds.SourceFunc(func(ctx context.Context) (ecscreds.Credentials, error) {
		role, err := e.store.RoleByARN(roleARN)
		if err != nil {
			return ecscreds.Credentials{}, err
		}
		r := &iampolicy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Time: e.now(),
			Principal: iampolicy.Principal{Service: ECSTasksPrincipal}}
		d := iampolicy.Decide(iampolicy.Input{Request: r, Resource: role.TrustPolicy, ResourceAccount: role.Account})
		now := e.now().UTC()
		ev := cloudtrail.Event{
			UserIdentity: cloudtrail.UserIdentity{Type: cloudtrail.IdentityAWSService, InvokedBy: ECSTasksPrincipal},
			EventTime:    now, EventSource: "sts.amazonaws.com", EventName: "AssumeRole", AWSRegion: DefaultRegion,
			SourceIPAddress: ECSTasksPrincipal, UserAgent: ECSTasksPrincipal, RecipientAccountID: role.Account,
			Resources: []cloudtrail.Resource{{AccountID: role.Account, Type: "AWS::IAM::Role", ARN: role.ARN}},
		}
		if !d.Allowed() {
			ev.ErrorCode, ev.ErrorMessage = "AccessDenied", "Not authorized to perform sts:AssumeRole"
			_ = e.trail.Add(ev)
			e.log.Info("task role denied", "role_arn", roleARN, "decision", "deny", "reason", d.Reason)
			return ecscreds.Credentials{}, awserr.New(http.StatusForbidden, "AccessDenied",
				"ECS cannot assume %s: %s", roleARN, d.Reason)
		}
		var id [16]byte
		_, _ = rand.Read(id[:])
		sess := e.store.AddSession(iam.Session{Issued: now, Expiration: now.Add(TaskRoleLifetime), Account: role.Account,
			RoleARN: role.ARN, RoleName: role.Name, RoleID: role.ID, SessionName: hex.EncodeToString(id[:]), IssuedTo: ECSTasksPrincipal})
		ev.RequestParameters = cloudtrail.AssumeRoleParameters{RoleArn: role.ARN, RoleSessionName: sess.SessionName}.JSON()
		ev.ResponseElements = cloudtrail.AssumeRoleResponseElements{
			Credentials:     &cloudtrail.ResponseCredentials{AccessKeyID: sess.AccessKeyID, SessionToken: sess.SessionToken, Expiration: sess.Expiration},
			AssumedRoleUser: &cloudtrail.AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN()},
		}.JSON()
		_ = e.trail.Add(ev)
		return ecscreds.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey,
			SessionToken: sess.SessionToken, Expiration: sess.Expiration, RoleArn: role.ARN}, nil
	})
}

// StartTaskRoleEndpoint serves roleARN's credentials on an ECS container-credentials endpoint;
// its Env() is what a process needs for the SDK's default chain to pick them up.
func (e *Emulator) StartTaskRoleEndpoint(ctx context.Context, roleARN string, opts ...ecscreds.Option) (*ecscreds.Server, error) {
	if _, err := e.store.RoleByARN(roleARN); err != nil {
		return nil, err
	}
	return ecscreds.Start(ctx, e.TaskRole(roleARN), opts...)
}
