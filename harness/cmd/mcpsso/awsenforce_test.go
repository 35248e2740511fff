package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/enforce"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

const fixtureAccount = "111122223333"

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func staticConfig(endpoint string, c aws.Credentials) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Retryer: func() aws.Retryer { return enforce.ConnectionRetryer() },
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}
}

func readObject(t *testing.T, cfg aws.Config, bucket, key string) (string, error) {
	t.Helper()
	out, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(t.Context(),
		&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// TestAWSEnforceInFrontOfMoto runs `mcpsso aws enforce` as the container topology does, in
// front of moto_server acting as the fixture's account: the fixture is seeded through it, the
// task role comes from its ECS endpoint, and it denies what moto alone allows.
func TestAWSEnforceInFrontOfMoto(t *testing.T) {
	m := moto.StartForTest(t, moto.WithAccount(fixtureAccount))
	bin := buildBinary(t)
	trail := filepath.Join(t.TempDir(), "trail.jsonl")
	p := startServe(t, bin, nil, "export ", "aws", "enforce", "--upstream", m.Endpoint(), "--addr", "127.0.0.1:0", "--config", "default",
		"--local-bucket-policies", "--task-role", "ecsTaskRole", "--task-role-path", "/v2/credentials/t", "--task-role-token", "tok-9",
		"--trail", trail)
	endpoint := p.require(t, "ready ")
	if !strings.Contains(strings.Join(p.lines, "\n"), "account "+fixtureAccount+" admin: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test") {
		t.Errorf("the upstream's account and the admin key are not printed: %q", p.lines)
	}
	taskURL, _, _ := strings.Cut(p.printed("task-role "), " ")
	if !strings.HasSuffix(taskURL, "/v2/credentials/t") {
		t.Fatalf("no task-role line with the path: %q", p.lines)
	}
	ctx := t.Context()
	admin := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

	t.Run("the fixture's objects were seeded through the proxy", func(t *testing.T) {
		if got, err := readObject(t, staticConfig(endpoint, admin), "quilt-tenant-acme", "README.md"); err != nil || !strings.HasPrefix(got, "# acme") {
			t.Fatalf("admin reads quilt-tenant-acme/README.md: %q, %v", got, err)
		}
	})

	taskCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Retryer: func() aws.Retryer { return enforce.ConnectionRetryer() },
		Credentials: aws.NewCredentialsCache(endpointcreds.New(taskURL, func(o *endpointcreds.Options) { o.AuthorizationToken = "tok-9" }))}
	task, err := taskCfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("task-role credentials from the ECS endpoint: %v", err)
	}
	targetARN := "arn:aws:iam::" + fixtureAccount + ":role/quilt-mcp-target-acme"
	input := func(sourceIdentity string, tags ...ststypes.Tag) *sts.AssumeRoleInput {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(targetARN), RoleSessionName: aws.String("mcp-alice"), Tags: tags}
		if sourceIdentity != "" {
			in.SourceIdentity = aws.String(sourceIdentity)
		}
		return in
	}
	tenant := ststypes.Tag{Key: aws.String("tenant"), Value: aws.String("acme")}

	t.Run("the task role assumes alice's role with a usr- source identity and her tenant tag", func(t *testing.T) {
		out, err := sts.NewFromConfig(taskCfg).AssumeRole(ctx, input("usr-alice", tenant))
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		session := staticConfig(endpoint, aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken})
		if _, err := readObject(t, session, "quilt-tenant-acme", "README.md"); err != nil {
			t.Errorf("alice's session reads her tenant's bucket: %v", err)
		}
		if _, err := readObject(t, session, "quilt-tenant-globex", "README.md"); errorCode(err) != "AccessDenied" {
			t.Errorf("alice's session reads globex's bucket: %v, want AccessDenied", err)
		}
	})

	t.Run("the task role is denied alice's role without a source identity, which moto alone allows", func(t *testing.T) {
		if _, err := sts.NewFromConfig(taskCfg).AssumeRole(ctx, input("", tenant)); errorCode(err) != "AccessDenied" {
			t.Errorf("through the proxy: %v, want AccessDenied", err)
		}
		if _, err := sts.NewFromConfig(staticConfig(m.Endpoint(), task)).AssumeRole(ctx, input("", tenant)); err != nil {
			t.Errorf("directly at moto: %v, want success (moto checks no trust policy)", err)
		}
	})

	p.interrupt(t)
	if stderr := p.stderr.String(); !strings.Contains(stderr, `"msg":"fixture role not seeded","role":"attacker","account":"444455556666"`) {
		t.Errorf("no warning naming the other account's role it skipped; stderr:\n%s", stderr)
	}
	records, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	var deniedAssume bool
	for line := range strings.Lines(string(records)) {
		deniedAssume = deniedAssume || strings.Contains(line, `"eventName":"AssumeRole"`) && strings.Contains(line, `"errorCode":"AccessDenied"`)
	}
	if !deniedAssume {
		t.Errorf("the trail file holds no denied AssumeRole:\n%s", records)
	}
}

// TestAWSEnforceRefusesAFixtureWithoutTheUpstreamsAccount: moto's own account (123456789012)
// is not the fixture's, so nothing the fixture's policies name would exist there.
func TestAWSEnforceRefusesAFixtureWithoutTheUpstreamsAccount(t *testing.T) {
	m := moto.StartForTest(t)
	code, stdout, stderr := execute(t, "", "aws", "enforce", "--upstream", m.Endpoint(), "--addr", "127.0.0.1:0", "--config", "default")
	if code != exitInput || !strings.Contains(stderr, "--config default") || !strings.Contains(stderr, "123456789012") ||
		!strings.Contains(stderr, "serves only the account its admin key belongs to") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming --config, the account and the rule", code, stderr)
	}
	if strings.Contains(stdout, "ready ") {
		t.Errorf("printed a ready line: %q", stdout)
	}
}

func TestAWSEnforceRejectsBadFlags(t *testing.T) {
	up := []string{"aws", "enforce", "--upstream", "http://127.0.0.1:9"}
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"aws", "enforce"}, "--upstream: required"},
		{[]string{"aws", "enforce", "--upstream", "localhost:4566"}, "--upstream"},
		{append(up, "--addr", "nohost"), "--addr \"nohost\""},
		{append(up, "--account", "12"), "--account \"12\""},
		{append(up, "--profile", "seed"), "--profile: only with --config"},
		{append(up, "--config", "default", "--profile", "tutorial"), "--profile \"tutorial\""},
		{append(up, "--task-role-token", "x"), "--task-role-token: only with --task-role"},
		{append(up, "--task-role", "r", "--task-role-addr", "80"), "--task-role-addr"},
		{append(up, "--admin-key", ""), "--admin-key"},
		{append(up, "--log-level", "loud"), "--log-level"},
		{append(up, "--config", filepath.Join(os.TempDir(), "no-such-fixture.yaml")), "no-such-fixture.yaml"},
	} {
		code, _, stderr := execute(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.mention) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", tc.args[2:], code, stderr, tc.mention)
		}
	}
}

// TestAWSEnforceFailsWhenTheUpstreamDoesNotAnswer: exit 1 (it could not do its job), naming
// the upstream, and never a ready line.
func TestAWSEnforceFailsWhenTheUpstreamDoesNotAnswer(t *testing.T) {
	// Nothing listens on the discard port of loopback.
	code, stdout, stderr := execute(t, "", "aws", "enforce", "--upstream", "http://127.0.0.1:9", "--addr", "127.0.0.1:0")
	if code != exitFailure || !strings.Contains(stderr, "--upstream http://127.0.0.1:9") || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 naming the upstream", code, stdout, stderr)
	}
}
