package awsemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	emutrail "github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	emuiam "github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
)

func cloudtrailFilter(eventName string) emutrail.Filter { return emutrail.Filter{EventName: eventName} }

// s3Client is an S3 client on cfg, path-style (the emulator's endpoint is an IP address).
func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func putObject(ctx context.Context, c *s3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

func getObject(ctx context.Context, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// tenantWorld is the tutorial's data plane: a task role, a target role per tenant with the
// ABAC policy, a bucket per tenant with the profile's bucket policy, and an attacker account.
type tenantWorld struct {
	s       *awsemu.Server
	admin   aws.Config
	task    aws.Config
	profile string
}

func newTenantWorld(t *testing.T, profile string) *tenantWorld {
	t.Helper()
	s := startEmulator(t, awsemu.WithAccounts(otherAcct))
	ctx := t.Context()
	admin := adminCfg(t, s, acct)
	c := iam.NewFromConfig(admin)
	// The reference task role policy works for both profiles' data plane; the trust policies
	// are not what these tests are about (TestTrustPolicyMatrixThroughSTS is).
	createRole(t, c, "ecsTaskRole", accountTrust(acct), map[string]string{"task": loadPolicy(t, "reference", "task-role-policy")})
	for _, tenant := range []string{"acme", "globex"} {
		createRole(t, c, "quilt-mcp-target-"+tenant, tenantTrust(t, tenant),
			map[string]string{"abac": loadPolicy(t, "reference", "target-role-policy")})
		bucket := "quilt-tenant-" + tenant
		if _, err := s3Client(admin).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		policy := bucketPolicy(t, profile, tenant)
		if _, err := s3Client(admin).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
			t.Fatalf("PutBucketPolicy %s: %v", profile, err)
		}
		if err := putObject(ctx, s3Client(admin), bucket, "data.csv", tenant+" data"); err != nil {
			t.Fatal(err)
		}
	}
	task := mustAssume(t, admin, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/ecsTaskRole"), RoleSessionName: aws.String("task")})
	return &tenantWorld{s: s, admin: admin, task: task, profile: profile}
}

func bucketPolicy(t testing.TB, profile, tenant string) string {
	t.Helper()
	doc := loadPolicy(t, profile, "tenant-bucket-policy")
	if profile == "reference" {
		return strings.ReplaceAll(doc, "quilt-tenant-acme", "quilt-tenant-"+tenant)
	}
	// The tutorial's policy names every tenant's bucket through ${aws:PrincipalTag/tenant};
	// S3 accepts it on any bucket whose name the pattern covers.
	return doc
}

// session is a tenant user's session, as the MCP server would assume it.
func (w *tenantWorld) session(t *testing.T, tenant, user string) *s3.Client {
	t.Helper()
	return s3Client(mustAssume(t, w.task, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/quilt-mcp-target-" + tenant),
		RoleSessionName: aws.String(user), SourceIdentity: aws.String(user), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String(tenant)}}}))
}

func TestTenantIsolationOnEveryOperation(t *testing.T) {
	w := newTenantWorld(t, "reference")
	ctx := t.Context()
	for _, dir := range []struct{ self, other string }{{"acme", "globex"}, {"globex", "acme"}} {
		t.Run(dir.self+" against "+dir.other, func(t *testing.T) {
			c := w.session(t, dir.self, "usr-"+dir.self+"-1")
			own, other := "quilt-tenant-"+dir.self, "quilt-tenant-"+dir.other

			// Own bucket: everything works.
			if err := putObject(ctx, c, own, "notes/a.txt", "hello"); err != nil {
				t.Fatalf("PutObject own: %v", err)
			}
			if got, err := getObject(ctx, c, own, "notes/a.txt"); err != nil || got != "hello" {
				t.Fatalf("GetObject own: %q %v", got, err)
			}
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(own), Key: aws.String("notes/a.txt")}); err != nil {
				t.Fatalf("HeadObject own: %v", err)
			}
			list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(own), Prefix: aws.String("notes/")})
			if err != nil || len(list.Contents) != 1 {
				t.Fatalf("ListObjectsV2 own: %v %v", list, err)
			}
			if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(own), Key: aws.String("notes/b.txt"), CopySource: aws.String(own + "/notes/a.txt")}); err != nil {
				t.Fatalf("CopyObject within own: %v", err)
			}
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(own), Key: aws.String("notes/b.txt")}); err != nil {
				t.Fatalf("DeleteObject own: %v", err)
			}

			// The other tenant's bucket: every operation is AccessDenied.
			denied := map[string]error{}
			_, denied["GetObject"] = getObject(ctx, c, other, "data.csv")
			denied["PutObject"] = putObject(ctx, c, other, "x.txt", "pwned")
			_, denied["DeleteObject"] = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(other), Key: aws.String("data.csv")})
			_, denied["ListObjectsV2"] = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(other)})
			_, denied["CopyObject into other"] = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(other), Key: aws.String("x"), CopySource: aws.String(own + "/notes/a.txt")})
			_, denied["CopyObject out of other"] = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(own), Key: aws.String("stolen"), CopySource: aws.String(other + "/data.csv")})
			_, denied["CreateMultipartUpload"] = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(other), Key: aws.String("big")})
			for op, err := range denied {
				if apiCode(err) != "AccessDenied" {
					t.Errorf("%s on %s: got %v, want AccessDenied", op, other, err)
				}
			}
			_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(other), Key: aws.String("data.csv")})
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("HeadObject on %s: %v, want 403", other, err)
			}
			del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(other), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("data.csv")}}}})
			if err != nil || len(del.Errors) != 1 || aws.ToString(del.Errors[0].Code) != "AccessDenied" || len(del.Deleted) != 0 {
				t.Errorf("DeleteObjects on %s: %+v %v", other, del, err)
			}
			// The other tenant's data is untouched.
			if got, err := getObject(ctx, s3Client(w.admin), other, "data.csv"); err != nil || got != dir.other+" data" {
				t.Errorf("the other tenant's object changed: %q %v", got, err)
			}
		})
	}
}

// The tutorial's bucket policy (Principal "*" and a condition comparing the tag with itself)
// lets any account that tags its own session tenant=acme read acme's data. The reference
// policy does not.
func TestCrossAccountTagSpoofingAgainstTheTutorialBucketPolicy(t *testing.T) {
	for _, tc := range []struct {
		profile string
		want    string
	}{{"seed", ""}, {"reference", "AccessDenied"}} {
		t.Run(tc.profile, func(t *testing.T) {
			w := newTenantWorld(t, tc.profile)
			ctx := t.Context()
			// The attacker owns account 444455556666 and a role it may tag itself through.
			other := adminCfg(t, w.s, otherAcct)
			attacker := createRole(t, iam.NewFromConfig(other), "attacker", accountTrust(otherAcct),
				map[string]string{"read-anything": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`})
			sess := mustAssume(t, other, &sts.AssumeRoleInput{RoleArn: aws.String(attacker), RoleSessionName: aws.String("x1"),
				Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("acme")}}})
			got, err := getObject(ctx, s3Client(sess), "quilt-tenant-acme", "data.csv")
			if apiCode(err) != tc.want && !(tc.want == "" && err == nil) {
				t.Fatalf("got %q %v, want %s", got, err, map[string]string{"": "the attack to work"}[tc.want]+tc.want)
			}
			if tc.want == "" && got != "acme data" {
				t.Fatalf("the attack read %q", got)
			}
			if tc.want != "" && apiMessage(err) != "Access Denied" {
				t.Errorf("a cross-account denial must say only Access Denied, got %q", apiMessage(err))
			}
		})
	}
}

// STS refuses "*" and "?" in tag values, so such a tag can only come from elsewhere (a role
// tag set outside STS, a federation provider); the session is made directly in the store to
// show that even then the substituted value is literal.
func TestATagValueWithWildcardsIsLiteral(t *testing.T) {
	w := newTenantWorld(t, "reference")
	ctx := t.Context()
	_, err := assume(ctx, w.task, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/quilt-mcp-target-acme"),
		RoleSessionName: aws.String("usr-wild"), SourceIdentity: aws.String("usr-wild"), Tags: []ststypes.Tag{{Key: aws.String("tenant"), Value: aws.String("*")}}})
	if apiCode(err) != "ValidationError" {
		t.Errorf("STS accepted a tag value of *: %v", err)
	}
	role, err := w.s.Store().GetRole(acct, "quilt-mcp-target-acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"*", "acm?", "*acme"} {
		now := time.Now()
		sess := w.s.Store().AddSession(emuiam.Session{Issued: now, Expiration: now.Add(time.Hour), Account: acct, RoleARN: role.ARN,
			RoleName: role.Name, RoleID: role.ID, SessionName: "usr-wild", SourceIdentity: "usr-wild", Tags: []emuiam.Tag{{Key: "tenant", Value: tenant}}})
		c := s3Client(cfgFor(w.s.Endpoint(), aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken}))
		if _, err := getObject(ctx, c, "quilt-tenant-acme", "data.csv"); apiCode(err) != "AccessDenied" {
			t.Errorf("tenant %q read acme's data: %v", tenant, err)
		}
		if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("quilt-tenant-globex")}); apiCode(err) != "AccessDenied" {
			t.Errorf("tenant %q listed globex: %v", tenant, err)
		}
	}
}

func TestMissingKeysAre404OnlyToCallersWhoMayList(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	admin := adminCfg(t, s, acct)
	if _, err := s3Client(admin).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket-one")}); err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(admin)
	getOnly := createRole(t, c, "get-only", accountTrust(acct), map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-one/*"}]}`})
	getList := createRole(t, c, "get-list", accountTrust(acct), map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bucket-one","arn:aws:s3:::bucket-one/*"]}]}`})
	_, err := getObject(ctx, s3Client(mustAssume(t, admin, &sts.AssumeRoleInput{RoleArn: aws.String(getOnly), RoleSessionName: aws.String("s1")})), "bucket-one", "nope")
	if apiCode(err) != "AccessDenied" {
		t.Errorf("without s3:ListBucket: %v, want AccessDenied", err)
	}
	_, err = getObject(ctx, s3Client(mustAssume(t, admin, &sts.AssumeRoleInput{RoleArn: aws.String(getList), RoleSessionName: aws.String("s1")})), "bucket-one", "nope")
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("with s3:ListBucket: %v, want NoSuchKey", err)
	}
	_, err = getObject(ctx, s3Client(admin), "no-such-bucket", "k")
	if apiCode(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestAnonymousRequestsGetOnlyWhatTheBucketPolicyGrants(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	admin := s3Client(adminCfg(t, s, acct))
	for _, b := range []string{"private-b", "public-b"} {
		if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		if err := putObject(ctx, admin, b, "k.txt", "body of "+b); err != nil {
			t.Fatal(err)
		}
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::public-b/*"}]}`
	if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("public-b"), Policy: aws.String(public)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(s.Endpoint() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/public-b/k.txt"); code != 200 || body != "body of public-b" {
		t.Errorf("public object: %d %s", code, body)
	}
	if code, body := get("/private-b/k.txt"); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("private object: %d %s", code, body)
	}
	if code, _ := get("/public-b"); code != 403 {
		t.Errorf("anonymous listing of public-b: %d, want 403", code)
	}
	if code, _ := get("/"); code != 403 {
		t.Errorf("anonymous ListBuckets: %d, want 403", code)
	}
}

func TestPresignedURLs(t *testing.T) {
	w := newTenantWorld(t, "reference")
	ctx := t.Context()
	c := w.session(t, "acme", "usr-alice")
	presign := s3.NewPresignClient(c)
	own, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("data.csv")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(own.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "acme data" {
		t.Fatalf("presigned GET of own object: %d %s", resp.StatusCode, body)
	}
	other, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("quilt-tenant-globex"), Key: aws.String("data.csv")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(other.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("presigned GET of the other tenant's object: %d", resp.StatusCode)
	}
	put, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String("up.txt")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("uploaded"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := getObject(ctx, c, "quilt-tenant-acme", "up.txt"); resp.StatusCode != 200 || got != "uploaded" {
		t.Fatalf("presigned PUT: %d, then %q", resp.StatusCode, got)
	}
}

func TestVirtualHostedStyleRequests(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.Endpoint(), "http://"))
	cfg := adminCfg(t, s, acct)
	cfg.BaseEndpoint = aws.String("http://localhost:" + port)
	// "<bucket>.localhost" is not in every resolver: dial the emulator whatever the host.
	dialer := &net.Dialer{}
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
	}}}
	c := s3.NewFromConfig(cfg) // virtual-hosted style: bucket in the Host header
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost-bucket")}); err != nil {
		t.Fatal(err)
	}
	if err := putObject(ctx, c, "vhost-bucket", "dir/k.txt", "v"); err != nil {
		t.Fatal(err)
	}
	if got, err := getObject(ctx, s3Client(adminCfg(t, s, acct)), "vhost-bucket", "dir/k.txt"); err != nil || got != "v" {
		t.Fatalf("path-style read of a virtual-hosted write: %q %v", got, err)
	}
}

func TestBucketPolicyValidationAndOwnership(t *testing.T) {
	s := startEmulator(t, awsemu.WithAccounts(otherAcct))
	ctx := t.Context()
	admin := s3Client(adminCfg(t, s, acct))
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("owned")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, policy, mention string }{
		{"a resource of another bucket", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`, "invalid resource"},
		{"a non-S3 action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:GetRole","Resource":"arn:aws:s3:::owned/*"}]}`, "invalid action"},
		{"no principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::owned/*"}]}`, "Principal"},
		{"an unknown operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::owned/*","Condition":{"StringEqual":{"aws:SourceIp":"1.2.3.4"}}}]}`, "StringEqual"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("owned"), Policy: aws.String(tc.policy)})
			if apiCode(err) != "MalformedPolicy" || !strings.Contains(apiMessage(err), tc.mention) {
				t.Fatalf("got %s %q", apiCode(err), apiMessage(err))
			}
		})
	}
	if _, err := admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("owned")}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("GetBucketPolicy with none: %v", err)
	}
	_, err := s3Client(adminCfg(t, s, otherAcct)).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("owned")})
	if apiCode(err) != "BucketAlreadyExists" {
		t.Errorf("another account creating a taken name: %v", err)
	}
	_, err = admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("owned")})
	if apiCode(err) != "BucketAlreadyOwnedByYou" {
		t.Errorf("the owner creating it again: %v", err)
	}
	list, err := s3Client(adminCfg(t, s, otherAcct)).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(list.Buckets) != 0 {
		t.Errorf("another account's ListBuckets shows %v (%v)", list.Buckets, err)
	}
}

func TestS3DataEventsCarryTheSourceIdentity(t *testing.T) {
	w := newTenantWorld(t, "reference")
	ctx := t.Context()
	c := w.session(t, "acme", "usr-alice")
	if _, err := getObject(ctx, c, "quilt-tenant-acme", "data.csv"); err != nil {
		t.Fatal(err)
	}
	_, _ = getObject(ctx, c, "quilt-tenant-globex", "data.csv")
	var allowed, denied bool
	for _, ev := range w.s.Trail().Events(cloudtrailFilter("GetObject")) {
		sc := ev.UserIdentity.SessionContext
		if sc == nil || sc.SourceIdentity != "usr-alice" || ev.EventCategory != "Data" {
			continue
		}
		var params map[string]string
		_ = json.Unmarshal(ev.RequestParameters, &params)
		switch {
		case ev.ErrorCode == "" && params["bucketName"] == "quilt-tenant-acme" && params["key"] == "data.csv":
			allowed = true
		case ev.ErrorCode == "AccessDenied" && params["bucketName"] == "quilt-tenant-globex":
			denied = true
		}
	}
	if !allowed || !denied {
		t.Fatalf("data events: allowed read recorded %v, denied read recorded %v", allowed, denied)
	}
	// Data events are not in LookupEvents, as on AWS.
	out, err := cloudtrail.NewFromConfig(w.admin).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range out.Events {
		if aws.ToString(ev.EventName) == "GetObject" {
			t.Fatal("LookupEvents returned a data event")
		}
	}
}

func TestDataDirKeepsBucketsObjectsAndPoliciesAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::kept/*"}]}`
	s1 := startEmulator(t, awsemu.WithDataDir(dir))
	c1 := s3Client(adminCfg(t, s1, acct))
	if _, err := c1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := putObject(ctx, c1, "kept", "a/b.txt", "persisted"); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("kept"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()

	s2 := startEmulator(t, awsemu.WithDataDir(dir))
	c2 := s3Client(adminCfg(t, s2, acct))
	if got, err := getObject(ctx, c2, "kept", "a/b.txt"); err != nil || got != "persisted" {
		t.Fatalf("after restart: %q %v", got, err)
	}
	p, err := c2.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("kept")})
	if err != nil || !jsonEqual(t, aws.ToString(p.Policy), policy) {
		t.Fatalf("policy after restart: %v %v", p, err)
	}
	resp, err := http.Get(s2.Endpoint() + "/kept/a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the restored bucket policy is not enforced: anonymous GET %d", resp.StatusCode)
	}
}

func TestMultipartUploadAndRangeReads(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	c := s3Client(adminCfg(t, s, acct))
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("multipart-bucket")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("multipart-bucket"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	part1 := bytes.Repeat([]byte("a"), 5<<20)
	var parts []s3types.CompletedPart
	for i, body := range [][]byte{part1, []byte("tail")} {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("multipart-bucket"), Key: aws.String("big"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("multipart-bucket"), Key: aws.String("big"), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("multipart-bucket"), Key: aws.String("big"), Range: aws.String("bytes=5242878-5242883")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "aatail" {
		t.Fatalf("range read %q", b)
	}
}

// TestDataDirKeepsIssuedSessionsAcrossRestarts: temporary credentials issued before a restart
// on the same data directory still work after it (the restart is invisible to their holder);
// without the directory the restarted emulator no longer knows them.
func TestDataDirKeepsIssuedSessionsAcrossRestarts(t *testing.T) {
	ctx := t.Context()
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("data directory %v", keep), func(t *testing.T) {
			dir := t.TempDir()
			var opts []awsemu.Option
			if keep {
				opts = append(opts, awsemu.WithDataDir(dir))
			}
			s1 := startEmulator(t, opts...)
			admin := adminCfg(t, s1, acct)
			arn := createRole(t, iam.NewFromConfig(admin), "kept-session", accountTrust(acct), nil)
			out, err := assume(ctx, admin, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("before-restart"),
				SourceIdentity: aws.String("usr-kept")})
			if err != nil {
				t.Fatal(err)
			}
			_ = s1.Close()

			s2 := startEmulator(t, opts...)
			who, err := sts.NewFromConfig(cfgFor(s2.Endpoint(), stsCreds(out.Credentials))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			switch {
			case keep && (err != nil || !strings.Contains(aws.ToString(who.Arn), "assumed-role/kept-session/before-restart")):
				t.Fatalf("a session issued before the restart: %v %v", who, err)
			case !keep && apiCode(err) != "InvalidClientTokenId":
				t.Fatalf("without the data directory the restarted emulator knows the session: %v %v", who, err)
			}
		})
	}
}

// A request header S3 supplies as a condition key (s3:x-amz-server-side-encryption) reaches
// the bucket policy: the classic "deny unencrypted uploads" statement refuses a PutObject
// without the header and allows one with it.
func TestBucketPolicyConditionOnARequestHeader(t *testing.T) {
	s := startEmulator(t)
	ctx := t.Context()
	admin := s3Client(adminCfg(t, s, acct))
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("enc-b")}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyUnencrypted","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::enc-b/*",
	  "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}}]}`
	if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("enc-b"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	_, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("enc-b"), Key: aws.String("plain"), Body: strings.NewReader("x")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("PutObject without server-side encryption: %v; want AccessDenied", err)
	}
	_, err = admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("enc-b"), Key: aws.String("sealed"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256})
	if err != nil {
		t.Errorf("PutObject with AES256: %v; want it allowed", err)
	}
}
