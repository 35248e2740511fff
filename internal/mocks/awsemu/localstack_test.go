package awsemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
)

// LocalStack's conventions (README, "The AWS CLI and SDKs against the emulator"): an access
// key ID of 12 digits is that account's admin key, the account is created on first use, and
// any secret signs with it.

func TestTwelveDigitAccessKeySelectsItsAccount(t *testing.T) {
	s := startEmulator(t)
	const id = "555566667777" // declared nowhere
	if s.Store().HasAccount(id) {
		t.Fatalf("account %s exists before its key is used", id)
	}
	cfg := cfgFor(s.Endpoint(), aws.Credentials{AccessKeyID: id, SecretAccessKey: "anything at all"})

	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with access key %s: %v", id, err)
	}
	if got := aws.ToString(who.Account); got != id {
		t.Fatalf("Account = %s, want %s", got, id)
	}
	if got, want := aws.ToString(who.Arn), "arn:aws:iam::"+id+":user/admin"; got != want {
		t.Errorf("Arn = %s, want %s (the account's admin)", got, want)
	}

	// S3 as that account: its bucket, which the default account's admin may not read (no
	// bucket policy, another account).
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("acct-bucket")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("acct-bucket"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("acct-bucket"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if string(body) != "v" {
		t.Fatalf("GetObject body %q", body)
	}
	other := s3.NewFromConfig(adminCfg(t, s, acct), func(o *s3.Options) { o.UsePathStyle = true })
	_, err = other.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("acct-bucket"), Key: aws.String("k")})
	if apiCode(err) != "AccessDenied" {
		t.Fatalf("the default account's admin reading account %s's bucket: %v, want AccessDenied", id, err)
	}
	puts := s.Trail().Events(cloudtrail.Filter{EventName: "PutObject", AccessKeyID: id})
	if len(puts) != 1 || puts[0].UserIdentity.AccountID != id || puts[0].RecipientAccountID != id {
		t.Fatalf("PutObject records with key %s: %+v, want one by and for account %s", id, puts, id)
	}
}

func TestOnlyTwelveDigitAccessKeysSelectAnAccount(t *testing.T) {
	s := startEmulator(t)
	cfg := cfgFor(s.Endpoint(), aws.Credentials{AccessKeyID: "AKIANOTAKEY1234567", SecretAccessKey: "x"})
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if apiCode(err) != "InvalidClientTokenId" {
		t.Fatalf("an unknown key that is not 12 digits: %v, want InvalidClientTokenId", err)
	}
	for _, id := range []string{"12345678901", "1234567890123", "12345678901a"} {
		cfg := cfgFor(s.Endpoint(), aws.Credentials{AccessKeyID: id, SecretAccessKey: "x"})
		if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
			t.Errorf("key %q: %v, want InvalidClientTokenId (only exactly 12 digits select an account)", id, err)
		}
	}
}

func TestDefaultAccountIsConfigurable(t *testing.T) {
	s := startEmulator(t, awsemu.WithDefaultAccount("000000000000"))
	cfg := cfgFor(s.Endpoint(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Account) != "000000000000" || s.DefaultAccount() != "000000000000" {
		t.Fatalf("the test key's account is %s, want the configured 000000000000", aws.ToString(who.Account))
	}
	if _, err := awsemu.New(awsemu.WithDefaultAccount("0000")); err == nil || !strings.Contains(err.Error(), "12 digits") {
		t.Fatalf("a default account of 4 digits: %v, want an error saying 12 digits", err)
	}
}

// TestAWSCLIWithTwelveDigitAccessKey is the acceptance check with the AWS CLI itself, through
// AWS_ENDPOINT_URL and through --endpoint-url. It skips only when the CLI is not installed.
func TestAWSCLIWithTwelveDigitAccessKey(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MCPSSO_REQUIRE_AWSCLI") == "1" {
			t.Fatal("the AWS CLI (aws) is not installed and MCPSSO_REQUIRE_AWSCLI=1 requires it")
		}
		t.Skip("the AWS CLI (aws) is not installed (set MCPSSO_REQUIRE_AWSCLI=1 to fail instead)")
	}
	s := startEmulator(t)
	home := t.TempDir()
	env := []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=" + otherAcct, "AWS_SECRET_ACCESS_KEY=secret-anything", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1",
	}
	run := func(extraEnv []string, args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), awsCLI, append(args, "--output", "json")...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"AWS_ENDPOINT_URL", []string{"AWS_ENDPOINT_URL=" + s.Endpoint()}, nil},
		{"--endpoint-url", nil, []string{"--endpoint-url", s.Endpoint()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var who struct{ Account, Arn string }
			if err := json.Unmarshal(run(tc.env, append([]string{"sts", "get-caller-identity"}, tc.args...)...), &who); err != nil {
				t.Fatal(err)
			}
			if who.Account != otherAcct {
				t.Fatalf("aws sts get-caller-identity with key %s: account %q, want %s", otherAcct, who.Account, otherAcct)
			}
		})
	}
	bucket := "cli-" + otherAcct
	run([]string{"AWS_ENDPOINT_URL=" + s.Endpoint()}, "s3api", "create-bucket", "--bucket", bucket)
	if got := s.Trail().Events(cloudtrail.Filter{EventName: "CreateBucket", AccessKeyID: otherAcct}); len(got) != 1 || got[0].UserIdentity.AccountID != otherAcct {
		t.Fatalf("CreateBucket through the CLI: records %+v, want one by account %s", got, otherAcct)
	}
}

// TestGetCallerIdentityUnderAnExplicitDeny: the STS API reference says GetCallerIdentity needs
// no permission and works even when a policy explicitly denies it; everything else is denied.
func TestGetCallerIdentityUnderAnExplicitDeny(t *testing.T) {
	s := startEmulator(t)
	ic := iam.NewFromConfig(adminCfg(t, s, acct))
	if _, err := ic.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String("denied")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(t.Context(), &iam.PutUserPolicyInput{UserName: aws.String("denied"), PolicyName: aws.String("DenyAll"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{UserName: aws.String("denied")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgFor(s.Endpoint(), aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: *key.AccessKey.SecretAccessKey})
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::"+acct+":user/denied" {
		t.Fatalf("GetCallerIdentity under Deny *: %+v, %v; want the user's identity", who, err)
	}
	_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(t.Context(), &s3.ListBucketsInput{})
	if apiCode(err) != "AccessDenied" {
		t.Fatalf("ListBuckets under Deny *: %v, want AccessDenied", err)
	}
}
