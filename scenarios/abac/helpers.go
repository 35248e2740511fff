package abac

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
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

// call calls a tool and returns its text and whether it is a tool error.
func (s *session) call(ctx context.Context, tool string, args map[string]any) (string, bool) {
	text, isErr, err := fw.CallTool(ctx, s.c, tool, args)
	Expect(err).NotTo(HaveOccurred(), "%s as %s: protocol error", tool, s.user.Name)
	return text, isErr
}

// mustCall calls a tool that must succeed.
func (s *session) mustCall(ctx context.Context, tool string, args map[string]any) string {
	text, isErr := s.call(ctx, tool, args)
	if isErr {
		ginkgo.Fail(fmt.Sprintf("%s %v as %s (tenant %s) answered a tool error: %s", tool, args, s.user.Name, s.user.Tenant, text), 1)
	}
	return text
}

type listing struct {
	Bucket  string `json:"bucket"`
	Objects []struct {
		Key string `json:"key"`
	} `json:"objects"`
}

// ownKey lists the user's own bucket and returns one key in it.
func (s *session) ownKey(ctx context.Context) string {
	var l listing
	text := s.mustCall(ctx, "list_objects", map[string]any{})
	Expect(json.Unmarshal([]byte(text), &l)).To(Succeed(), "list_objects answered %q", text)
	Expect(l.Bucket).To(Equal(s.user.Bucket), "list_objects as %s listed another bucket than the tenant's", s.user.Name)
	if len(l.Objects) == 0 {
		key := "mcpsso-abac/seed-" + randomSuffix() + ".txt"
		s.mustCall(ctx, "put_object", map[string]any{"key": key, "content": "seeded by the abac suite\n"})
		return key
	}
	return l.Objects[0].Key
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
