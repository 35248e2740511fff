package trust

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

// tutorialReason explains, for the action an AssumeRole denial names, which of the tutorial's
// documented mistakes produces exactly that denial for a request the pattern must allow.
func tutorialReason(action string) string {
	switch action {
	case "sts:SetSourceIdentity":
		return "the trust policy (or the task role's policy) does not allow sts:SetSourceIdentity, which passing a SourceIdentity needs (tutorial mistake: it allows only sts:AssumeRole and sts:TagSession)"
	case "sts:TagSession":
		return "the trust policy does not allow sts:TagSession for a tenant tag (tutorial mistake: its one statement conditions sts:TagSession on sts:SourceIdentity, a key that action never sees, and on sts:TagKeys, a key that does not exist — the key is aws:TagKeys)"
	case "sts:AssumeRole":
		return "the trust policy or the task role's policy does not allow sts:AssumeRole for this request"
	}
	return "AWS denied it"
}

// deniedAction is the IAM action an AccessDenied from STS names ("… not authorized to perform:
// <action> on resource: …"), or "".
func deniedAction(err error) string {
	msg := apiMessage(err)
	_, rest, ok := strings.Cut(msg, "perform: ")
	if !ok {
		return ""
	}
	action, _, _ := strings.Cut(rest, " ")
	return action
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// explainDenial is the failure message for a request the pattern must allow that AWS denied.
func explainDenial(what string, err error) string {
	if apiCode(err) == "AccessDenied" {
		a := deniedAction(err)
		return fmt.Sprintf("%s was denied at %s: %s (AWS: %s: %s)", what, a, tutorialReason(a), apiCode(err), apiMessage(err))
	}
	return fmt.Sprintf("%s failed: %v", what, err)
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tenantTag(tenant string) []ststypes.Tag {
	return []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String(tenant)}}
}

// subject is what the STS-level specs assume for: a mapped user's tenant and target role.
type subject struct {
	user    fw.User
	roleARN string
	// sourceIdentity is a valid usr- source identity for the user.
	sourceIdentity string
}

// firstMappedUser is the first user with a tenant, and the target role of the tenant
// (quilt-mcp-target-<tenant>, the pattern's naming, as the target resolves it).
func firstMappedUser() subject {
	t := fw.Current()
	for _, u := range t.Users() {
		if u.Tenant == "" {
			continue
		}
		role := u.Role // the mapped role, whatever its name (an imported fixture's)
		if role == "" {
			role = t.RoleARN("quilt-mcp-target-" + u.Tenant)
		}
		if role == "" {
			ginkgo.Skip(fmt.Sprintf("target %s does not know the ARN of role quilt-mcp-target-%s", t.Name(), u.Tenant))
		}
		si := u.SourceIdentity
		if !strings.HasPrefix(si, "usr-") {
			si = "usr-" + u.Name
		}
		return subject{user: u, roleARN: role, sourceIdentity: si}
	}
	ginkgo.Skip("target " + t.Name() + " has no user mapped to a tenant")
	return subject{}
}

// otherTenant is the tenant of a test user in another tenant than not, or a tenant name no
// user has when every user is in the same one.
func otherTenant(not string) string {
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" && u.Tenant != not {
			return u.Tenant
		}
	}
	return "not-" + not
}

func taskRoleConfig() aws.Config {
	cfg, err := fw.Current().TaskRoleAWS(context.Background())
	Expect(err).NotTo(HaveOccurred(), "the target gave no task-role credentials")
	return cfg
}

func adminConfig(account string) aws.Config {
	cfg, err := fw.Current().AdminAWS(account)
	Expect(err).NotTo(HaveOccurred(), "the target gave no administrator credentials for account %s", account)
	return cfg
}

func assume(ctx context.Context, cfg aws.Config, in *sts.AssumeRoleInput) (aws.Config, *sts.AssumeRoleOutput, error) {
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, in)
	if err != nil {
		return aws.Config{}, nil, err
	}
	c := cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey,
			SessionToken: *out.Credentials.SessionToken, CanExpire: true, Expires: *out.Credentials.Expiration}, nil
	}))
	return c, out, nil
}

// validRequest is an AssumeRole the pattern must allow the task role: a usr- source identity
// and exactly the tenant tag.
func validRequest(s subject) *sts.AssumeRoleInput {
	return &sts.AssumeRoleInput{RoleArn: aws.String(s.roleARN), RoleSessionName: aws.String(s.sourceIdentity),
		SourceIdentity: aws.String(s.sourceIdentity), Tags: tenantTag(s.user.Tenant)}
}

// temporaryRole creates a role with an administrator's credentials, deleted after the spec.
func temporaryRole(ctx context.Context, admin aws.Config, prefix, trust string, inline map[string]string) string {
	c := iam.NewFromConfig(admin)
	name := prefix + "-" + randomSuffix()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	Expect(err).NotTo(HaveOccurred(), "CreateRole %s", name)
	ginkgo.DeferCleanup(func(ctx context.Context) {
		for pn := range inline {
			_, _ = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
		}
		_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
		Expect(err).NotTo(HaveOccurred(), "DeleteRole %s", name)
	})
	for pn, doc := range inline {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn), PolicyDocument: aws.String(doc)})
		Expect(err).NotTo(HaveOccurred(), "PutRolePolicy %s/%s", name, pn)
	}
	return aws.ToString(out.Role.Arn)
}

// must fails the spec with msg, without Gomega's dump of the error value, when err is set.
func must(err error, msg string) {
	if err != nil {
		ginkgo.Fail(msg, 1)
	}
}

// callWhoami asks the server, as user through the MCP endpoint, who it acts as (the whoami
// probe); an answer that is not a success fails the spec with the server's words.
func callWhoami(ctx context.Context, user string) fw.Identity {
	t := fw.Current()
	fw.RequireProbe(fw.OpWhoami)
	token, err := t.Token(ctx, user)
	Expect(err).NotTo(HaveOccurred(), "no token for %s", user)
	c, err := fw.ConnectMCP(ctx, t.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		ginkgo.Fail(fmt.Sprintf("%s could not open an MCP session (%v): %s", user, err, fw.InitializeAnswer(ctx, t.MCPURL(), token, "mcpsso-trust")), 1)
	}
	defer c.Close()
	r, err := fw.CallProbe(ctx, c, fw.OpWhoami, fw.ProbeVars{})
	Expect(err).NotTo(HaveOccurred(), "whoami as %s", user)
	Expect(r.OK()).To(BeTrue(), "as %s, %s: so the server could not act as %s's role", user, r, user)
	id, err := r.Identity()
	Expect(err).NotTo(HaveOccurred(), "as %s, %s", user, r)
	return id
}
