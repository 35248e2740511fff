package awsemu_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	emuiam "github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
)

func TestAdminKeysFollowTheLocalStackConvention(t *testing.T) {
	s := startEmulator(t, awsemu.WithAccounts(otherAcct))
	ctx := t.Context()
	for _, tc := range []struct{ key, account string }{{"test", acct}, {acct, acct}, {otherAcct, otherAcct}} {
		cfg := cfgFor(s.Endpoint(), aws.Credentials{AccessKeyID: tc.key, SecretAccessKey: "test"})
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("key %s: %v", tc.key, err)
		}
		if *out.Account != tc.account || *out.Arn != "arn:aws:iam::"+tc.account+":user/admin" || !strings.HasPrefix(*out.UserId, "AIDA") {
			t.Errorf("key %s: GetCallerIdentity = %s %s %s", tc.key, *out.Account, *out.Arn, *out.UserId)
		}
	}
}

func TestAuthenticationFailuresAreTheErrorsAWSGives(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		creds aws.Credentials
		want  string
	}{
		{"an unknown access key is InvalidClientTokenId", aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"}, "InvalidClientTokenId"},
		{"a wrong secret is SignatureDoesNotMatch", aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"}, "SignatureDoesNotMatch"},
		{"a session token on a long-term key is InvalidClientTokenId", aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", SessionToken: "tok"}, "InvalidClientTokenId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sts.NewFromConfig(cfgFor(s.Endpoint(), tc.creds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if got := apiCode(err); got != tc.want {
				t.Fatalf("got %s (%v), want %s", got, err, tc.want)
			}
		})
	}
	t.Run("an unsigned request is MissingAuthenticationToken", func(t *testing.T) {
		resp, err := http.Post(s.Endpoint(), "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body strings.Builder
		_, _ = fmt.Fprint(&body, resp.Status)
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(buf[:n]), "<Code>MissingAuthenticationToken</Code>") {
			t.Fatalf("%s %s", resp.Status, buf[:n])
		}
	})
}

// world is the tutorial's deployment in the emulator: the ECS task role, a target role per
// profile, another role in the same account, and a task role in another account.
type world struct {
	s         *awsemu.Server
	targetARN string
	taskCfg   aws.Config // the ECS task role, through the SDK's default credential chain
	otherRole aws.Config // another role of the same account, allowed sts:* by its own policy
	otherAcct aws.Config // a role named ecsTaskRole in another account, allowed sts:*
	adminIAM  *iam.Client
}

func newWorld(t *testing.T, profile string) *world {
	t.Helper()
	s := startEmulator(t, awsemu.WithAccounts(otherAcct))
	ctx := t.Context()
	admin := iam.NewFromConfig(adminCfg(t, s, acct))
	taskARN := createRole(t, admin, "ecsTaskRole", ecsTrust, map[string]string{"task": loadPolicy(t, profile, "task-role-policy")})
	target := createRole(t, admin, "quilt-mcp-target-acme", loadPolicy(t, profile, "target-role-trust-policy"), nil)
	otherARN := createRole(t, admin, "otherRole", accountTrust(acct), map[string]string{"sts": allowSTS})
	otherAdmin := iam.NewFromConfig(adminCfg(t, s, otherAcct))
	foreignARN := createRole(t, otherAdmin, "ecsTaskRole", accountTrust(otherAcct), map[string]string{"sts": allowSTS})

	// The task role reaches the code the way it does on Fargate: the container-credentials
	// endpoint and the SDK's default chain.
	ep, err := s.StartTaskRoleEndpoint(ctx, taskARN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Close() })
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv(ecscreds.EnvFullURI, ep.URL())
	t.Setenv(ecscreds.EnvAuthorizationToken, ep.AuthorizationToken())
	taskCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(awsemu.DefaultRegion), config.WithBaseEndpoint(s.Endpoint()), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return &world{s: s, targetARN: target, taskCfg: taskCfg, adminIAM: admin,
		otherRole: mustAssume(t, adminCfg(t, s, acct), &sts.AssumeRoleInput{RoleArn: aws.String(otherARN), RoleSessionName: aws.String("other")}),
		otherAcct: mustAssume(t, adminCfg(t, s, otherAcct), &sts.AssumeRoleInput{RoleArn: aws.String(foreignARN), RoleSessionName: aws.String("task")}),
	}
}

func TestTaskRoleComesFromTheECSEndpointThroughTheDefaultChain(t *testing.T) {
	w := newWorld(t, "reference")
	out, err := sts.NewFromConfig(w.taskCfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*out.Arn, "arn:aws:sts::"+acct+":assumed-role/ecsTaskRole/") || !strings.HasPrefix(*out.UserId, "AROA") {
		t.Fatalf("task role identity %s %s", *out.Arn, *out.UserId)
	}
}

// The acceptance matrix of the tutorial's trust policy, verbatim and corrected: source identity
// ok/bad/absent × tags ok/extra/absent × caller task role/other role/other account.
func TestTrustPolicyMatrixThroughSTS(t *testing.T) {
	sourceIdentities := []struct{ name, value string }{{"ok", "usr-alice"}, {"bad", "00u1a2b3c4"}, {"absent", ""}}
	tagSets := []struct {
		name string
		tags []ststypes.Tag
	}{
		{"ok", []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}},
		{"extra", []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}, {Key: aws.String("admin"), Value: aws.String("true")}}},
		{"absent", nil},
		// acme's role with globex's tag: the reference pins each role to its own tenant.
		{"another tenant", []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("globex")}}},
	}
	for _, profile := range []string{"seed", "reference"} {
		t.Run(profile, func(t *testing.T) {
			w := newWorld(t, profile)
			callers := []struct {
				name string
				cfg  aws.Config
			}{{"task role", w.taskCfg}, {"other role", w.otherRole}, {"other account", w.otherAcct}}
			for _, c := range callers {
				for _, si := range sourceIdentities {
					for _, tg := range tagSets {
						name := fmt.Sprintf("caller %s, source identity %s, tags %s", c.name, si.name, tg.name)
						t.Run(name, func(t *testing.T) {
							in := &sts.AssumeRoleInput{RoleArn: aws.String(w.targetARN), RoleSessionName: aws.String("s-" + si.name), Tags: tg.tags}
							if si.value != "" {
								in.SourceIdentity = aws.String(si.value)
							}
							out, err := assume(t.Context(), c.cfg, in)
							wantAllowed, wantAction := expectTrust(profile, c.name, si.name, tg.name)
							if wantAllowed {
								if err != nil {
									t.Fatalf("denied: %v", err)
								}
								if aws.ToString(out.SourceIdentity) != si.value {
									t.Errorf("SourceIdentity = %q", aws.ToString(out.SourceIdentity))
								}
								return
							}
							if apiCode(err) != "AccessDenied" {
								t.Fatalf("got %v, want AccessDenied", err)
							}
							if !strings.Contains(apiMessage(err), "perform: "+wantAction+" on resource: "+w.targetARN) {
								t.Errorf("denial %q does not name %s", apiMessage(err), wantAction)
							}
						})
					}
				}
			}
		})
	}
}

// expectTrust is the matrix's expected outcome and, for a denial, the action denied first.
func expectTrust(profile, caller, si, tags string) (allowed bool, deniedAction string) {
	if profile == "seed" {
		// sts:AssumeRole needs sts:SourceIdentity like usr-* (and its tag condition, on the
		// non-existent sts:TagKeys, constrains nothing: extra tags pass this step). Then
		// sts:TagSession is conditioned on sts:SourceIdentity, a key it never sees, and
		// sts:SetSourceIdentity is not allowed at all.
		switch {
		case caller != "task role" || si != "ok":
			return false, "sts:AssumeRole"
		case tags != "absent":
			return false, "sts:TagSession"
		default:
			return false, "sts:SetSourceIdentity"
		}
	}
	switch {
	case caller != "task role" || si != "ok" || tags != "ok":
		if caller == "task role" && si == "ok" && tags == "extra" {
			return false, "sts:AssumeRole" // ForAllValues aws:TagKeys [tenant] rejects "admin"
		}
		return false, "sts:AssumeRole"
	}
	return true, ""
}

func TestSessionTagsBecomePrincipalTagsForABAC(t *testing.T) {
	w := newWorld(t, "reference")
	ctx := t.Context()
	// Give the target role an ABAC permission on IAM roles named after the tenant.
	abac := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::` + acct + `:role/tenant-${aws:PrincipalTag/tenant}"}]}`
	if _, err := w.adminIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"), PolicyName: aws.String("abac"), PolicyDocument: aws.String(abac)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"tenant-acme", "tenant-globex"} {
		createRole(t, w.adminIAM, n, accountTrust(acct), nil)
	}
	sess := mustAssume(t, w.taskCfg, &sts.AssumeRoleInput{RoleArn: aws.String(w.targetARN), RoleSessionName: aws.String("usr-alice"),
		SourceIdentity: aws.String("usr-alice"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}})
	c := iam.NewFromConfig(sess)
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("tenant-acme")}); err != nil {
		t.Fatalf("own tenant: %v", err)
	}
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("tenant-globex")})
	if apiCode(err) != "AccessDenied" {
		t.Fatalf("other tenant: got %v, want AccessDenied", err)
	}
}

func TestRoleChainingRules(t *testing.T) {
	w := newWorld(t, "reference")
	ctx := t.Context()
	// A second role the tenant session may chain into: trusts the whole account.
	next := createRole(t, w.adminIAM, "quilt-mcp-target-chain", accountTrust(acct), nil)
	if _, err := w.adminIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("quilt-mcp-target-acme"), PolicyName: aws.String("chain"), PolicyDocument: aws.String(allowSTS)}); err != nil {
		t.Fatal(err)
	}
	sess := mustAssume(t, w.taskCfg, &sts.AssumeRoleInput{RoleArn: aws.String(w.targetARN), RoleSessionName: aws.String("usr-alice"),
		SourceIdentity: aws.String("usr-alice"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}},
		TransitiveTagKeys: []string{"tenant"}})

	t.Run("a chained session is capped at one hour", func(t *testing.T) {
		_, err := assume(ctx, sess, &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("chained"), DurationSeconds: aws.Int32(7200)})
		if apiCode(err) != "ValidationError" || !strings.Contains(apiMessage(err), "1 hour session limit for roles assumed by role chaining") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("the source identity is inherited", func(t *testing.T) {
		out, err := assume(ctx, sess, &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("chained")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.SourceIdentity) != "usr-alice" {
			t.Fatalf("SourceIdentity = %q, want the inherited usr-alice", aws.ToString(out.SourceIdentity))
		}
	})
	t.Run("the source identity cannot change", func(t *testing.T) {
		_, err := assume(ctx, sess, &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("chained"), SourceIdentity: aws.String("usr-mallory")})
		if apiCode(err) != "AccessDenied" {
			t.Fatalf("got %v, want AccessDenied", err)
		}
	})
	t.Run("a transitive tag cannot be overridden", func(t *testing.T) {
		_, err := assume(ctx, sess, &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("chained"),
			Tags: []ststypes.Tag{{Key: aws.String("Tenant"), Value: aws.String("globex")}}})
		if apiCode(err) != "InvalidParameterValue" {
			t.Fatalf("got %v, want InvalidParameterValue", err)
		}
	})
	t.Run("the task role's own credentials are not chaining", func(t *testing.T) {
		_, err := assume(ctx, w.taskCfg, &sts.AssumeRoleInput{RoleArn: aws.String(w.targetARN), RoleSessionName: aws.String("usr-alice"),
			SourceIdentity: aws.String("usr-alice"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}, DurationSeconds: aws.Int32(3600)})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestAssumeRoleInputValidation(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	admin := adminCfg(t, s, acct)
	role := createRole(t, iam.NewFromConfig(admin), "r", accountTrust(acct), nil)
	tags := func(kv ...string) []ststypes.Tag {
		var out []ststypes.Tag
		for i := 0; i < len(kv); i += 2 {
			out = append(out, ststypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   sts.AssumeRoleInput
		code string
		msg  string
	}{
		{"a one-character session name", sts.AssumeRoleInput{RoleSessionName: aws.String("a")}, "ValidationError", "roleSessionName"},
		{"a session name with a pipe", sts.AssumeRoleInput{RoleSessionName: aws.String("auth0|1")}, "ValidationError", "regular expression"},
		{"a source identity with a pipe, as a raw Auth0 subject has", sts.AssumeRoleInput{SourceIdentity: aws.String("auth0|123")}, "ValidationError", "sourceIdentity"},
		{"a source identity starting with aws:", sts.AssumeRoleInput{SourceIdentity: aws.String("aws:me")}, "ValidationError", "aws:"},
		{"a duration under 900 seconds", sts.AssumeRoleInput{DurationSeconds: aws.Int32(899)}, "ValidationError", "greater than or equal to 900"},
		{"a duration over the role's maximum", sts.AssumeRoleInput{DurationSeconds: aws.Int32(7200)}, "ValidationError", "MaxSessionDuration"},
		{"two tag keys differing only in case", sts.AssumeRoleInput{Tags: tags("tenant", "a", "Tenant", "b")}, "InvalidParameterValue", "case insensitive"},
		{"a tag key starting with aws:", sts.AssumeRoleInput{Tags: tags("aws:x", "a")}, "InvalidParameterValue", "aws:"},
		{"a transitive key that is not a passed tag", sts.AssumeRoleInput{Tags: tags("tenant", "a"), TransitiveTagKeys: []string{"team"}}, "InvalidParameterValue", "must be included in the requested tags"},
		{"a malformed session policy", sts.AssumeRoleInput{Policy: aws.String(`{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)}, "MalformedPolicyDocument", "Resource"},
		{"a role that does not exist", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/nope")}, "AccessDenied", "sts:AssumeRole"},
		{"two problems at once are both reported", sts.AssumeRoleInput{RoleSessionName: aws.String("a"), DurationSeconds: aws.Int32(100)}, "ValidationError", "2 validation errors detected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in.RoleArn == nil {
				in.RoleArn = aws.String(role)
			}
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("session")
			}
			_, err := assume(ctx, admin, &in)
			if apiCode(err) != tc.code || !strings.Contains(apiMessage(err), tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", apiCode(err), apiMessage(err), tc.code, tc.msg)
			}
		})
	}
}

func TestSessionPolicyLimitsTheSession(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	admin := adminCfg(t, s, acct)
	c := iam.NewFromConfig(admin)
	role := createRole(t, c, "reader", accountTrust(acct), map[string]string{"all": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`})
	out, err := assume(ctx, admin, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("session"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 STS still answers PackedPolicySize, and the emulator must too
	size := out.PackedPolicySize
	if size == nil || *size <= 0 || *size > 100 {
		t.Errorf("PackedPolicySize = %v", size)
	}
	sess := cfgFor(s.Endpoint(), stsCreds(out.Credentials))
	if _, err := iam.NewFromConfig(sess).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reader")}); err != nil {
		t.Fatalf("GetRole within the session policy: %v", err)
	}
	if _, err := iam.NewFromConfig(sess).ListRoles(ctx, &iam.ListRolesInput{}); apiCode(err) != "AccessDenied" {
		t.Fatalf("ListRoles outside the session policy: %v", err)
	}
	t.Run("tags too large to pack are PackedPolicyTooLarge", func(t *testing.T) {
		var tags []ststypes.Tag
		for i := 0; i < 50; i++ {
			tags = append(tags, ststypes.Tag{Key: aws.String(fmt.Sprintf("k%03d%s", i, strings.Repeat("x", 100))), Value: aws.String(randomish(i))})
		}
		_, err := assume(ctx, admin, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("session"), Tags: tags})
		if apiCode(err) != "PackedPolicyTooLarge" {
			t.Fatalf("got %v", err)
		}
	})
}

func randomish(i int) string {
	var b strings.Builder
	x := uint32(i*2654435761 + 1)
	for b.Len() < 250 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[x%36])
	}
	return b.String()
}

func TestExpiredSessionsAreRefused(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	createRole(t, iam.NewFromConfig(adminCfg(t, s, acct)), "r", accountTrust(acct), nil)
	role, err := s.Store().GetRole(acct, "r")
	if err != nil {
		t.Fatal(err)
	}
	// A session issued an hour ago for 15 minutes: the signature is fresh, the token is not.
	issued := time.Now().Add(-time.Hour)
	sess := s.Store().AddSession(emuiam.Session{Issued: issued, Expiration: issued.Add(15 * time.Minute), Account: acct,
		RoleARN: role.ARN, RoleName: role.Name, RoleID: role.ID, SessionName: "old"})
	creds := aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken}
	_, err = sts.NewFromConfig(cfgFor(s.Endpoint(), creds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if apiCode(err) != "ExpiredToken" {
		t.Fatalf("got %v, want ExpiredToken", err)
	}
}

func TestCloudTrailRecordsAllowedAndDeniedCalls(t *testing.T) {
	w := newWorld(t, "reference")
	ctx := t.Context()
	_ = mustAssume(t, w.taskCfg, &sts.AssumeRoleInput{RoleArn: aws.String(w.targetARN), RoleSessionName: aws.String("usr-alice"),
		SourceIdentity: aws.String("usr-alice"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}})
	_, denied := assume(ctx, w.otherRole, &sts.AssumeRoleInput{RoleArn: aws.String(w.targetARN), RoleSessionName: aws.String("intruder")})
	if apiCode(denied) != "AccessDenied" {
		t.Fatalf("expected a denial, got %v", denied)
	}
	ct := cloudtrail.NewFromConfig(adminCfg(t, w.s, acct))
	out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRole")}}})
	if err != nil {
		t.Fatal(err)
	}
	var allowed, deniedSeen bool
	for _, ev := range out.Events {
		var rec struct {
			ErrorCode         string `json:"errorCode"`
			RequestParameters struct {
				SourceIdentity string `json:"sourceIdentity"`
				RoleArn        string `json:"roleArn"`
			} `json:"requestParameters"`
			ResponseElements struct {
				Credentials struct {
					SecretAccessKey string `json:"secretAccessKey"`
				} `json:"credentials"`
			} `json:"responseElements"`
			UserIdentity struct {
				Type string `json:"type"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ResponseElements.Credentials.SecretAccessKey != "" {
			t.Fatal("a CloudTrail record carries a secret access key")
		}
		if rec.RequestParameters.RoleArn != w.targetARN {
			continue
		}
		switch {
		case rec.ErrorCode == "" && rec.RequestParameters.SourceIdentity == "usr-alice" && rec.UserIdentity.Type == "AssumedRole":
			allowed = true
		case rec.ErrorCode == "AccessDenied":
			deniedSeen = true
		}
	}
	if !allowed || !deniedSeen {
		t.Fatalf("allowed AssumeRole recorded: %v, denied one recorded: %v (events: %d)", allowed, deniedSeen, len(out.Events))
	}
}

func TestCloudTrailLookupIsItselfAuthorized(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	admin := adminCfg(t, s, acct)
	role := createRole(t, iam.NewFromConfig(admin), "nobody", accountTrust(acct), nil)
	sess := mustAssume(t, admin, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("session")})
	_, err := cloudtrail.NewFromConfig(sess).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if apiCode(err) != "AccessDenied" {
		t.Fatalf("got %v, want AccessDenied", err)
	}
}
