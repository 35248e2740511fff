package abac

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// mappedUsers are the target's users with a tenant and a bucket; the spec is skipped without
// any.
func mappedUsers() []fw.User {
	var out []fw.User
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" && u.Bucket != "" {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		ginkgo.Skip("target " + fw.Current().Name() + " has no user mapped to a tenant with a bucket")
	}
	return out
}

// session is one user's MCP client.
type session struct {
	user fw.User
	c    *mcpclient.Client
}

// connect opens an MCP session as u, closed after the spec; a failure says what the endpoint
// answered.
func connect(ctx context.Context, u fw.User) *session {
	t := fw.Current()
	token, err := t.Token(ctx, u.Name)
	Expect(err).NotTo(HaveOccurred(), "no token for %s", u.Name)
	c, err := fw.ConnectMCP(ctx, t.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		ginkgo.Fail(fmt.Sprintf("%s could not open an MCP session (%v): %s", u.Name, err, fw.InitializeAnswer(ctx, t.MCPURL(), token, "mcpsso-abac")), 1)
	}
	ginkgo.DeferCleanup(c.Close)
	return &session{user: u, c: c}
}

// call runs the target's probe of op as the session's user; a call that got no answer fails
// the spec.
func (s *session) call(ctx context.Context, op fw.Op, v fw.ProbeVars) fw.ProbeResult {
	r, err := fw.CallProbe(ctx, s.c, op, v)
	Expect(err).NotTo(HaveOccurred(), "%s as %s: no answer", op, s.user.Name)
	return r
}

// mustCall runs a probe that must succeed.
func (s *session) mustCall(ctx context.Context, op fw.Op, v fw.ProbeVars) fw.ProbeResult {
	r := s.call(ctx, op, v)
	if !r.OK() {
		ginkgo.Fail(fmt.Sprintf("as %s (tenant %s), %s", s.user.Name, s.user.Tenant, r), 1)
	}
	return r
}

// read reads an object of the user's own bucket, which must succeed, and returns its content.
func (s *session) read(ctx context.Context, key string) string {
	r := s.mustCall(ctx, fw.OpRead, fw.ProbeVars{Bucket: s.user.Bucket, Key: key})
	content, err := r.Content()
	Expect(err).NotTo(HaveOccurred(), "as %s, %s", s.user.Name, r)
	return content
}

// ownKey lists the user's own bucket and returns one key in it, writing one when it is empty.
func (s *session) ownKey(ctx context.Context) string {
	r := s.mustCall(ctx, fw.OpList, fw.ProbeVars{Bucket: s.user.Bucket})
	keys, err := r.Keys()
	Expect(err).NotTo(HaveOccurred(), "as %s, %s", s.user.Name, r)
	if len(keys) == 0 {
		key := "mcpsso-abac/seed-" + randomSuffix() + ".txt"
		deleteAfter(s.user.Bucket, key)
		s.mustCall(ctx, fw.OpWrite, fw.ProbeVars{Bucket: s.user.Bucket, Key: key, Content: "seeded by the abac suite\n"})
		return key
	}
	return keys[0]
}

func adminConfig(account string) aws.Config {
	cfg, err := fw.Current().AdminAWS(account)
	Expect(err).NotTo(HaveOccurred(), "the target gave no administrator credentials for account %s", account)
	return cfg
}

func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// deleteAfter removes an object the spec wrote, with the deployment account's administrator,
// when the target offers one.
func deleteAfter(bucket, key string) {
	t := fw.Current()
	if !fw.Has(t, fw.CapAWSAdmin) || len(t.Accounts()) == 0 {
		return
	}
	ginkgo.DeferCleanup(func(ctx context.Context) {
		cfg, err := t.AdminAWS(t.Accounts()[0])
		if err != nil {
			return
		}
		_, _ = s3Client(cfg).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	})
}
