package gosdkserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// session is the STS session one tool call acts with.
type session struct {
	cfg            aws.Config
	roleARN        string
	tenant         string
	sourceIdentity string // as STS recorded it
	expires        time.Time
}

// assume makes c's session as tenant's role from the server's own (task-role) credentials:
// SourceIdentity and session name usr-<email>, the one session tag tenant=<tenant>. Every call
// gets its own session, so nothing one user did is ever reused for another.
func (s *Server) assume(ctx context.Context, c principal, tenant string) (session, error) {
	roleARN := strings.ReplaceAll(s.cfg.roleTemplate, "{tenant}", tenant)
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(sessionName(c.SourceIdentity)),
		SourceIdentity: aws.String(c.SourceIdentity), DurationSeconds: aws.Int32(int32(SessionDuration / time.Second)),
		Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String(tenant)}}}
	if s.cfg.defect == SkipsSourceIdentity {
		in.SourceIdentity = nil
	}
	out, err := sts.NewFromConfig(s.aws).AssumeRole(ctx, in)
	if err != nil {
		return session{}, s.awsError(ctx, c, "sts:AssumeRole", roleARN, err)
	}
	cfg := s.aws.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
		aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	return session{cfg: cfg, roleARN: roleARN, tenant: tenant, sourceIdentity: aws.ToString(out.SourceIdentity),
		expires: aws.ToTime(out.Credentials.Expiration)}, nil
}

// sessionName is a role session name (2-64 of [\w+=,.@-]) from a source identity.
func sessionName(sourceIdentity string) string {
	var b strings.Builder
	for _, r := range sourceIdentity {
		if b.Len() == 64 {
			break
		}
		if r < 128 && (r == '_' || r == '+' || r == '=' || r == ',' || r == '.' || r == '@' || r == '-' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	for b.Len() < 2 {
		b.WriteByte('_')
	}
	return b.String()
}

// awsError is the tool error for a failed AWS call: a denial says AccessDenied, the action and
// what it was on, so the user (and a client) can tell it from a failure; it is logged with who
// asked.
func (s *Server) awsError(ctx context.Context, c principal, action, on string, err error) error {
	code, msg := "", err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	decision := "error"
	var out error
	switch code {
	case "AccessDenied", "AccessDeniedException":
		decision = "deny"
		out = fmt.Errorf("AccessDenied: %s on %s was denied: %s", action, on, msg)
	case "NoSuchKey", "NotFound", "NoSuchBucket":
		out = fmt.Errorf("NotFound: %s on %s: %s", action, on, msg)
	default:
		out = fmt.Errorf("%s on %s failed: %s", action, on, msg)
	}
	s.cfg.log.InfoContext(ctx, "tool call", "component", "gosdkserver", "action", action, "on", on, "sub", c.Subject,
		"tenant", c.Tenant, "source_identity", c.SourceIdentity, "decision", decision, "error_code", code, "error", msg)
	return out
}

// logCall logs an allowed tool call with who, which role and tenant.
func (s *Server) logCall(ctx context.Context, tool string, c principal, sess session, on string) {
	s.cfg.log.InfoContext(ctx, "tool call", "component", "gosdkserver", "tool", tool, "on", on, "sub", c.Subject,
		"tenant", sess.tenant, "role_arn", sess.roleARN, "source_identity", sess.sourceIdentity, "decision", "allow")
}
