package enforce_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/enforce"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
	"github.com/mcpsso/mcpsso/reference/policies"
)

const (
	taskRole   = "quilt-mcp-task"
	targetRole = "quilt-mcp-target-tenants"
	otherRole  = "quilt-mcp-other"
)

// startMoto starts moto_server, or skips with the reason when it is not installed (fails
// instead when MCPSSO_REQUIRE_MOTO=1, as CI sets it).
func startMoto(t *testing.T) *moto.Server { return moto.StartForTest(t) }

func cfgFor(endpoint string, c aws.Credentials) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Retryer: func() aws.Retryer { return enforce.ConnectionRetryer() },
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}
}

func s3For(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func doc(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := policies.Load(policies.Reference, name, vars)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// twoTenantTrust is the reference trust policy for one target role that serves both tenants
// here (acme and globex), where the reference pins each role to one tenant.
func twoTenantTrust(t *testing.T, vars map[string]string) string {
	t.Helper()
	one := doc(t, "target-role-trust-policy", map[string]string{"acct": vars["acct"], "ecsTaskRole": vars["ecsTaskRole"], "tenant": "acme"})
	both := strings.ReplaceAll(one, `"aws:RequestTag/tenant": "acme"`, `"aws:RequestTag/tenant": ["acme", "globex"]`)
	if both == one {
		t.Fatal("the reference trust policy no longer pins aws:RequestTag/tenant as this test expects")
	}
	return both
}

// stack is moto behind the enforcing proxy, seeded through the proxy with the admin key.
type stack struct {
	moto    *moto.Server
	proxy   *enforce.Server
	account string
	task    aws.Credentials // the task role's session, issued by the proxy as ECS would
	other   aws.Credentials // another role's session, allowed sts:* by its own policy
}

func (s *stack) roleARN(name string) string { return "arn:aws:iam::" + s.account + ":role/" + name }

func seed(t *testing.T) *stack {
	t.Helper()
	ctx := t.Context()
	m := startMoto(t)
	var opts []enforce.Option
	if os.Getenv("ENFORCE_DEBUG") != "" {
		opts = append(opts, enforce.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	}
	p, err := enforce.Start(ctx, m.Endpoint(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	s := &stack{moto: m, proxy: p, account: p.Account()}
	admin := cfgFor(p.Endpoint(), p.AdminCredentials())
	ic := iam.NewFromConfig(admin)
	vars := map[string]string{"acct": s.account, "ecsTaskRole": taskRole}
	for _, r := range []struct{ name, trust, policy string }{
		{taskRole, doc(t, "task-role-trust-policy", vars), doc(t, "task-role-policy", vars)},
		{otherRole, doc(t, "task-role-trust-policy", vars), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`},
		{targetRole, twoTenantTrust(t, vars), doc(t, "target-role-policy", vars)},
	} {
		must(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust)}))
		must(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String("main"), PolicyDocument: aws.String(r.policy)}))
	}
	// The tenant buckets carry no bucket policy: moto applies any Deny in a bucket policy to
	// every object request, conditions and principals ignored, so the reference policy's
	// conditional Deny would make moto refuse even the calls the proxy allows. The shared
	// bucket's policy only allows (moto lets Allow statements through), so it shows the proxy
	// enforcing a bucket policy with an ABAC condition.
	sc := s3For(admin)
	for _, b := range []string{"quilt-tenant-acme", "quilt-tenant-globex", "quilt-shared"} {
		must(sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}))
		must(sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("data.txt"), Body: strings.NewReader("hello " + b)}))
	}
	shared := `{"Version":"2012-10-17","Statement":[{"Sid":"AcmeReadsShared","Effect":"Allow",
		"Principal":{"AWS":"` + s.roleARN(targetRole) + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::quilt-shared/*",
		"Condition":{"StringEquals":{"aws:PrincipalTag/tenant":"acme"}}}]}`
	must(sc.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("quilt-shared"), Policy: aws.String(shared)}))
	if s.task, err = p.TaskRole(ctx, s.roleARN(taskRole)); err != nil {
		t.Fatal(err)
	}
	if s.other, err = p.TaskRole(ctx, s.roleARN(otherRole)); err != nil {
		t.Fatal(err)
	}
	return s
}

func assume(ctx context.Context, endpoint string, c aws.Credentials, in *sts.AssumeRoleInput) (aws.Credentials, error) {
	out, err := sts.NewFromConfig(cfgFor(endpoint, c)).AssumeRole(ctx, in)
	if err != nil {
		return aws.Credentials{}, err
	}
	cr := out.Credentials
	return aws.Credentials{AccessKeyID: *cr.AccessKeyId, SecretAccessKey: *cr.SecretAccessKey, SessionToken: *cr.SessionToken}, nil
}

func tenantInput(s *stack, sourceIdentity string, tags ...ststypes.Tag) *sts.AssumeRoleInput {
	in := &sts.AssumeRoleInput{RoleArn: aws.String(s.roleARN(targetRole)), RoleSessionName: aws.String("mcp-alice"), Tags: tags}
	if sourceIdentity != "" {
		in.SourceIdentity = aws.String(sourceIdentity)
	}
	return in
}

func tag(k, v string) ststypes.Tag { return ststypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

func read(ctx context.Context, c *s3.Client, bucket string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("data.txt")})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func TestTheProxyEnforcesTrustPolicyAndABACThatMotoIgnores(t *testing.T) {
	s := seed(t)
	ctx := t.Context()
	ep := s.proxy.Endpoint()

	t.Run("the task role assumes the target role with a usr- source identity and a tenant tag", func(t *testing.T) {
		if _, err := assume(ctx, ep, s.task, tenantInput(s, "usr-alice", tag("tenant", "acme"))); err != nil {
			t.Fatal(err)
		}
	})
	denials := map[string]*sts.AssumeRoleInput{
		"without a source identity":       tenantInput(s, "", tag("tenant", "acme")),
		"with a source identity not usr-": tenantInput(s, "alice", tag("tenant", "acme")),
		"with an extra tag key":           tenantInput(s, "usr-alice", tag("tenant", "acme"), tag("role", "admin")),
		"without the tenant tag":          tenantInput(s, "usr-alice"),
	}
	for name, in := range denials {
		t.Run("the task role is denied "+name+" but moto alone allows it", func(t *testing.T) {
			if _, err := assume(ctx, ep, s.task, in); code(err) != "AccessDenied" {
				t.Errorf("through the proxy: %v, want AccessDenied", err)
			}
			if _, err := assume(ctx, s.moto.Endpoint(), s.task, in); err != nil {
				t.Errorf("directly at moto: %v, want success (moto enforces nothing)", err)
			}
		})
	}
	for name, creds := range map[string]aws.Credentials{"another role": s.other, "the admin": s.proxy.AdminCredentials()} {
		t.Run(name+" is denied the target role though moto alone allows it", func(t *testing.T) {
			in := tenantInput(s, "usr-alice", tag("tenant", "acme"))
			if _, err := assume(ctx, ep, creds, in); code(err) != "AccessDenied" {
				t.Errorf("through the proxy: %v, want AccessDenied", err)
			}
			if _, err := assume(ctx, s.moto.Endpoint(), creds, in); err != nil {
				t.Errorf("directly at moto: %v", err)
			}
		})
	}

	t.Run("a tenant session reads its own bucket and is denied the other tenant's", func(t *testing.T) {
		acme, err := assume(ctx, ep, s.task, tenantInput(s, "usr-alice", tag("tenant", "acme")))
		if err != nil {
			t.Fatal(err)
		}
		c := s3For(cfgFor(ep, acme))
		if got, err := read(ctx, c, "quilt-tenant-acme"); err != nil || got != "hello quilt-tenant-acme" {
			t.Errorf("own bucket: %q, %v", got, err)
		}
		if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("quilt-tenant-acme")}); err != nil {
			t.Errorf("list own bucket: %v", err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("new.txt"), Body: strings.NewReader("x")}); err != nil {
			t.Errorf("write own bucket: %v", err)
		}
		if _, err := read(ctx, c, "quilt-tenant-globex"); code(err) != "AccessDenied" {
			t.Errorf("other tenant's object: %v, want AccessDenied", err)
		}
		if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("quilt-tenant-globex")}); code(err) != "AccessDenied" {
			t.Errorf("list other tenant's bucket: %v, want AccessDenied", err)
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("quilt-tenant-globex"), Key: aws.String("data.txt")}); code(err) != "AccessDenied" {
			t.Errorf("delete in other tenant's bucket: %v, want AccessDenied", err)
		}
		if _, err := read(ctx, s3For(cfgFor(ep, s.task)), "quilt-tenant-acme"); code(err) != "AccessDenied" {
			t.Errorf("the task role itself has no S3 access: %v, want AccessDenied", err)
		}
	})

	t.Run("the same tenant session made directly at moto reads the other tenant's bucket", func(t *testing.T) {
		acme, err := assume(ctx, s.moto.Endpoint(), s.task, tenantInput(s, "usr-alice", tag("tenant", "acme")))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := read(ctx, s3For(cfgFor(s.moto.Endpoint(), acme)), "quilt-tenant-globex"); err != nil || got != "hello quilt-tenant-globex" {
			t.Errorf("directly at moto: %q, %v (moto enforces nothing)", got, err)
		}
	})

	t.Run("the shared bucket's policy lets the acme session read and not the globex one, which moto alone allows", func(t *testing.T) {
		for tenant, allowed := range map[string]bool{"acme": true, "globex": false} {
			in := tenantInput(s, "usr-"+tenant, tag("tenant", tenant))
			viaProxy := must(assume(ctx, ep, s.task, in))
			_, err := read(ctx, s3For(cfgFor(ep, viaProxy)), "quilt-shared")
			if allowed && err != nil || !allowed && code(err) != "AccessDenied" {
				t.Errorf("%s through the proxy: %v (want allowed=%v)", tenant, err, allowed)
			}
			direct := must(assume(ctx, s.moto.Endpoint(), s.task, in))
			if _, err := read(ctx, s3For(cfgFor(s.moto.Endpoint(), direct)), "quilt-shared"); err != nil {
				t.Errorf("%s directly at moto: %v", tenant, err)
			}
		}
	})

	t.Run("the proxy's CloudTrail records carry the source identity", func(t *testing.T) {
		var assumed, allowedGet, deniedGet bool
		for _, e := range s.proxy.Trail().Events(cloudtrail.Filter{}) {
			sc := e.UserIdentity.SessionContext
			switch {
			case e.EventName == "AssumeRole" && e.ErrorCode == "" && strings.Contains(string(e.ResponseElements), `"sourceIdentity":"usr-alice"`):
				assumed = true
			case e.EventName == "GetObject" && sc != nil && sc.SourceIdentity == "usr-alice":
				if e.ErrorCode == "" {
					allowedGet = true
				} else if e.ErrorCode == "AccessDenied" {
					deniedGet = true
				}
			}
		}
		if !assumed || !allowedGet || !deniedGet {
			t.Errorf("records: AssumeRole with source identity %v, allowed GetObject %v, denied GetObject %v", assumed, allowedGet, deniedGet)
		}
	})
}

func TestAnUnknownAccessKeyIsAnInvalidClientTokenId(t *testing.T) {
	s := seed(t)
	_, err := sts.NewFromConfig(cfgFor(s.proxy.Endpoint(), aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"})).
		GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if code(err) != "InvalidClientTokenId" {
		t.Errorf("got %v, want InvalidClientTokenId", err)
	}
}

func TestAnUnreachableUpstreamDeniesRatherThanRelaysUnchecked(t *testing.T) {
	// Nothing listens on the discard port of loopback; New contacts nothing.
	p, err := enforce.New("http://127.0.0.1:9", enforce.WithAccount("123456789012", ""),
		enforce.WithHTTPClient(&http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, err = read(t.Context(), s3For(cfgFor("http://"+ln.Addr().String(), p.AdminCredentials())), "quilt-tenant-acme")
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Errorf("got %v, want 503", err)
	}
	if evs := p.Trail().Events(cloudtrail.Filter{}); len(evs) != 1 || evs[0].ErrorCode != "ServiceUnavailable" {
		t.Errorf("records %+v, want one ServiceUnavailable", evs)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestAPolicyRemovedThroughTheProxyTakesEffectAtOnce(t *testing.T) {
	s := seed(t)
	ctx := t.Context()
	ep := s.proxy.Endpoint()
	acme := must(assume(ctx, ep, s.task, tenantInput(s, "usr-alice", tag("tenant", "acme"))))
	c := s3For(cfgFor(ep, acme))
	if _, err := read(ctx, c, "quilt-tenant-acme"); err != nil {
		t.Fatalf("before: %v", err)
	}
	ic := iam.NewFromConfig(cfgFor(ep, s.proxy.AdminCredentials()))
	must(ic.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(targetRole), PolicyName: aws.String("main")}))
	if _, err := read(ctx, c, "quilt-tenant-acme"); code(err) != "AccessDenied" {
		t.Errorf("after the target role lost its policy: %v, want AccessDenied", err)
	}
}

func TestALearnedSessionSignedWithTheWrongSecretIsRejected(t *testing.T) {
	s := seed(t)
	ctx := t.Context()
	acme := must(assume(ctx, s.proxy.Endpoint(), s.task, tenantInput(s, "usr-alice", tag("tenant", "acme"))))
	acme.SecretAccessKey = "wrong" + acme.SecretAccessKey
	if _, err := read(ctx, s3For(cfgFor(s.proxy.Endpoint(), acme)), "quilt-tenant-acme"); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("got %v, want SignatureDoesNotMatch", err)
	}
}

func TestAChainedSessionCannotChangeItsSourceIdentity(t *testing.T) {
	s := seed(t)
	ctx := t.Context()
	ep := s.proxy.Endpoint()
	// Let the target role's sessions assume the target role again (role chaining).
	ic := iam.NewFromConfig(cfgFor(ep, s.proxy.AdminCredentials()))
	must(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(targetRole), PolicyName: aws.String("chain"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"*"}]}`)}))
	must(ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(targetRole),
		PolicyDocument: aws.String(chainTrust(s))}))
	first := must(assume(ctx, ep, s.task, tenantInput(s, "usr-alice", tag("tenant", "acme"))))
	if _, err := assume(ctx, ep, first, tenantInput(s, "usr-mallory", tag("tenant", "acme"))); code(err) != "AccessDenied" {
		t.Errorf("a different source identity: %v, want AccessDenied", err)
	}
	if _, err := assume(ctx, ep, first, tenantInput(s, "usr-alice", tag("tenant", "acme"))); err != nil {
		t.Errorf("the same source identity: %v", err)
	}
}

// chainTrust trusts both the task role and the target role itself, with the reference
// conditions.
func chainTrust(s *stack) string {
	cond := `"Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"},"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},"Null":{"aws:RequestTag/tenant":"false"}}`
	principal := `"Principal":{"AWS":["` + s.roleARN(taskRole) + `","` + s.roleARN(targetRole) + `"]}`
	return `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow",` + principal + `,"Action":"sts:AssumeRole",` + cond + `},
		{"Effect":"Allow",` + principal + `,"Action":"sts:SetSourceIdentity","Condition":{"StringLike":{"sts:SourceIdentity":"usr-*"}}},
		{"Effect":"Allow",` + principal + `,"Action":"sts:TagSession","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["tenant"]},"Null":{"aws:RequestTag/tenant":"false"}}}]}`
}

// TestLocalBucketPoliciesNeverReachMoto shows why WithLocalBucketPolicies exists: the reference
// tenant bucket policy (Deny unless the caller is of the bucket's account) put at moto locks
// out even the account's own administrator, because moto applies the Deny whatever its
// condition; kept in the proxy, it is enforced as AWS would and moto never sees it.
func TestLocalBucketPoliciesNeverReachMoto(t *testing.T) {
	ctx := t.Context()
	m := startMoto(t)
	p, err := enforce.Start(ctx, m.Endpoint(), enforce.WithLocalBucketPolicies())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	admin := s3For(cfgFor(p.Endpoint(), p.AdminCredentials()))
	direct := s3For(cfgFor(m.Endpoint(), p.AdminCredentials()))
	const bucket = "quilt-tenant-acme"
	must(admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}))
	must(admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("data.txt"), Body: strings.NewReader("hello")}))
	policy := doc(t, "tenant-bucket-policy", map[string]string{"acct": p.Account(), "tenant": "acme"})

	if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("PutBucketPolicy through the proxy: %v", err)
	}
	if _, err := direct.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)}); code(err) != "NoSuchBucketPolicy" {
		t.Errorf("moto has a policy: GetBucketPolicy at moto = %v, want NoSuchBucketPolicy", err)
	}
	got, err := admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil || aws.ToString(got.Policy) != policy {
		t.Errorf("GetBucketPolicy through the proxy = %v, %v; want the policy put", got, err)
	}
	if body, err := read(ctx, admin, bucket); err != nil || body != "hello" {
		t.Errorf("the account's administrator reads %q, %v through the proxy; want hello", body, err)
	}

	// The same policy at moto itself locks the administrator out: the reason for the option.
	must(direct.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}))
	if _, err := read(ctx, direct, bucket); err == nil {
		t.Error("moto let its administrator read past the policy's conditional Deny: moto has changed, revisit WithLocalBucketPolicies")
	}
	must(direct.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}))

	for name, tc := range map[string]struct {
		bucket, policy, want string
	}{
		"a policy naming another bucket": {bucket, strings.ReplaceAll(policy, "quilt-tenant-acme", "quilt-tenant-globex"), "MalformedPolicy"},
		"a policy with an IAM action":    {bucket, strings.Replace(policy, `"s3:*"`, `"iam:*"`, 1), "MalformedPolicy"},
		"a bucket that does not exist":   {"quilt-tenant-nobody", strings.ReplaceAll(policy, "quilt-tenant-acme", "quilt-tenant-nobody"), "NoSuchBucket"},
	} {
		_, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(tc.bucket), Policy: aws.String(tc.policy)})
		if code(err) != tc.want {
			t.Errorf("%s: PutBucketPolicy = %v, want %s", name, err, tc.want)
		}
	}
	if got, err := admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil || aws.ToString(got.Policy) != policy {
		t.Errorf("a refused PutBucketPolicy changed the kept policy: %v, %v", got, err)
	}
	if _, err := admin.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)}); code(err) != "NoSuchBucketPolicy" {
		t.Errorf("after DeleteBucketPolicy: %v, want NoSuchBucketPolicy", err)
	}
}

// TestLookupEventsAnswersFromTheProxysRecords: the proxy's decisions are readable with the
// CloudTrail API, by callers allowed cloudtrail:LookupEvents only.
func TestLookupEventsAnswersFromTheProxysRecords(t *testing.T) {
	s := seed(t)
	ctx := t.Context()
	ep := s.proxy.Endpoint()
	if _, err := assume(ctx, ep, s.task, tenantInput(s, "alice", tag("tenant", "acme"))); code(err) != "AccessDenied" {
		t.Fatalf("AssumeRole without a usr- source identity: %v, want AccessDenied", err)
	}
	out, err := awsct.NewFromConfig(cfgFor(ep, s.proxy.AdminCredentials())).LookupEvents(ctx, &awsct.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRole")}}})
	if err != nil {
		t.Fatal(err)
	}
	denied := false
	for _, e := range out.Events {
		denied = denied || strings.Contains(aws.ToString(e.CloudTrailEvent), `"errorCode":"AccessDenied"`)
	}
	if !denied {
		t.Errorf("LookupEvents returned %d AssumeRole events, none the denied one", len(out.Events))
	}
	// The task role may not read CloudTrail: the proxy says so rather than relaying.
	_, err = awsct.NewFromConfig(cfgFor(ep, s.task)).LookupEvents(ctx, &awsct.LookupEventsInput{})
	if code(err) != "AccessDeniedException" && code(err) != "AccessDenied" {
		t.Errorf("the task role's LookupEvents: %v, want an access denial", err)
	}
}

// TestTheProxyAnswersWhatMotoCannot: an AssumeRole answer carries the session's source
// identity (moto's never does), and SimulatePrincipalPolicy evaluates the role as the upstream
// has it (moto answers 500).
func TestTheProxyAnswersWhatMotoCannot(t *testing.T) {
	s := seed(t)
	ctx := t.Context()
	out, err := sts.NewFromConfig(cfgFor(s.proxy.Endpoint(), s.task)).AssumeRole(ctx, tenantInput(s, "usr-alice", tag("tenant", "acme")))
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.SourceIdentity); got != "usr-alice" {
		t.Errorf("AssumeRole answered SourceIdentity %q, want usr-alice", got)
	}
	direct, err := sts.NewFromConfig(cfgFor(s.moto.Endpoint(), s.task)).AssumeRole(ctx, tenantInput(s, "usr-alice", tag("tenant", "acme")))
	if err != nil || aws.ToString(direct.SourceIdentity) != "" {
		t.Errorf("moto alone: %v, SourceIdentity %q; the proxy's correction may be obsolete", err, aws.ToString(direct.SourceIdentity))
	}

	admin := iam.NewFromConfig(cfgFor(s.proxy.Endpoint(), s.proxy.AdminCredentials()))
	sim, err := admin.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(s.roleARN(taskRole)),
		ActionNames: []string{"sts:AssumeRole", "s3:GetObject"}, ResourceArns: []string{s.roleARN(targetRole)}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range sim.EvaluationResults {
		got[aws.ToString(r.EvalActionName)] = string(r.EvalDecision)
	}
	if got["sts:AssumeRole"] != "allowed" || got["s3:GetObject"] != "implicitDeny" {
		t.Errorf("simulation of the task role: %v", got)
	}
	if _, err := admin.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(s.roleARN("no-such-role")),
		ActionNames: []string{"sts:AssumeRole"}}); code(err) != "NoSuchEntity" {
		t.Errorf("simulating a role that does not exist: %v, want NoSuchEntity", err)
	}
	// The task role may not simulate: the IAM handler's own authorization applies.
	if _, err := iam.NewFromConfig(cfgFor(s.proxy.Endpoint(), s.task)).SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(s.roleARN(taskRole)), ActionNames: []string{"sts:AssumeRole"}}); code(err) != "AccessDenied" {
		t.Errorf("the task role's simulation: %v, want AccessDenied", err)
	}
}
