package mcpssotest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.uber.org/goleak"

	"github.com/mcpsso/mcpsso/internal/mcpcall"
	"github.com/mcpsso/mcpsso/mcpssotest"
)

// whoami calls the reference server's whoami tool through s's gateway with token.
func whoami(ctx context.Context, s *mcpssotest.Stack, token string) (string, error) {
	c, err := mcpcall.Connect(ctx, s.MCPURL(), map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		return "", err
	}
	defer c.Close()
	text, isError, err := mcpcall.CallTool(ctx, c, "whoami", nil)
	if err == nil && isError {
		err = fmt.Errorf("whoami answered a tool error: %s", text)
	}
	return text, err
}

// Ten stacks in parallel tests of one binary: each serves its own users with its own keys and
// its own AWS, none sees another's tokens or objects, and when they have stopped no goroutine
// of theirs is left.
func TestTenStacksInParallelDoNotInterfereAndLeakNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const n = 10
	stacks := make([]*mcpssotest.Stack, n)
	tokens := make([]string, n)
	t.Run("stacks", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				s := mcpssotest.Start(t)
				stacks[i], tokens[i] = s, s.Token(t, "alice")
				text, err := whoami(ctx, s, tokens[i])
				if err != nil || !strings.Contains(text, "usr-") {
					t.Fatalf("whoami as alice on stack %d: %q, %v", i, text, err)
				}
				// An object only this stack writes, through alice's own session.
				cfg, err := s.AWSConfig(ctx, mcpssotest.UserSession("alice"))
				if err != nil {
					t.Fatal(err)
				}
				c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
				key := fmt.Sprintf("parallel/stack-%d.txt", i)
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("quilt-tenant-acme"), Key: aws.String(key),
					Body: strings.NewReader("stack")}); err != nil {
					t.Fatalf("stack %d: alice writes her tenant's bucket: %v", i, err)
				}
				out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("quilt-tenant-acme"), Prefix: aws.String("parallel/")})
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, o := range out.Contents {
					keys = append(keys, aws.ToString(o.Key))
				}
				if !slices.Equal(keys, []string{key}) {
					t.Errorf("stack %d lists %v under parallel/: want only its own %s", i, keys, key)
				}
				// Another stack's token is not this stack's IdP's: refused.
				other := mcpssotest.Start(t)
				if _, err := whoami(ctx, other, tokens[i]); err == nil {
					t.Errorf("a token of stack %d was accepted by another stack", i)
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	for i := 1; i < n; i++ {
		if stacks[i].MCPURL() == stacks[0].MCPURL() || stacks[i].Issuer() == stacks[0].Issuer() {
			t.Errorf("stacks 0 and %d share an endpoint: %s %s", i, stacks[i].MCPURL(), stacks[i].Issuer())
		}
	}
}

func TestAWSConfigActsAsEachPrincipal(t *testing.T) {
	ctx := context.Background()
	s := mcpssotest.Start(t)
	for _, tc := range []struct {
		who  mcpssotest.Principal
		want string
	}{
		{mcpssotest.Administrator, ":user/admin"},
		{mcpssotest.TaskRole, ":assumed-role/ecsTaskRole/"},
		{mcpssotest.UserSession("alice"), ":assumed-role/quilt-mcp-target-acme/usr-"},
		{mcpssotest.UserSession("bob"), ":assumed-role/quilt-mcp-target-globex/usr-"},
	} {
		cfg, err := s.AWSConfig(ctx, tc.who)
		if err != nil {
			t.Errorf("%s: %v", tc.who, err)
			continue
		}
		me, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Errorf("%s: GetCallerIdentity: %v", tc.who, err)
			continue
		}
		if !strings.Contains(aws.ToString(me.Arn), tc.want) {
			t.Errorf("%s acts as %s, want an ARN containing %s", tc.who, aws.ToString(me.Arn), tc.want)
		}
	}
	if _, err := s.AWSConfig(ctx, mcpssotest.UserSession("carol")); err == nil || !strings.Contains(err.Error(), "no role mapping") {
		t.Errorf("carol has no mapping: want an error saying so, got %v", err)
	}
	if _, err := s.AWSConfig(ctx, mcpssotest.Principal{}); err == nil {
		t.Error("the zero Principal: want an error")
	}
}

// The server of WithMCPServer gets what ECS and the gateway give it, and the stack records
// what it and the authorizer did.
func TestYourServerGetsTheTaskRoleTheDecidedHeadersAndTheLog(t *testing.T) {
	ctx := context.Background()
	var env mcpssotest.Env
	seen := make(chan http.Header, 1)
	s := mcpssotest.Start(t, mcpssotest.WithMCPServer(func(e mcpssotest.Env) http.Handler {
		env = e
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := e.VerifyContext(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			select {
			case seen <- r.Header.Clone():
			default:
			}
			e.Logger.Info("served", "tenant_header", r.Header.Get(e.Headers.SessionTags))
			http.Error(w, "not an MCP server", http.StatusTeapot)
		})
	}))
	me, err := sts.NewFromConfig(env.AWSConfig()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(me.Arn), ":assumed-role/ecsTaskRole/") {
		t.Errorf("Env.TaskRole acts as %s (%v), want the task role", aws.ToString(me.Arn), err)
	}
	if len(env.AllowedOrigins) == 0 || env.Region == "" || env.AWSEndpoint == "" {
		t.Errorf("Env lacks origins, region or endpoint: %+v", env)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+s.Token(t, "alice"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("through the gateway: HTTP %d, want the handler's 418", resp.StatusCode)
	}
	h := <-seen
	if got := h.Get(env.Headers.DecidedRole); !strings.HasSuffix(got, ":role/quilt-mcp-target-acme") {
		t.Errorf("%s = %q, want alice's role", env.Headers.DecidedRole, got)
	}
	si := h.Get(env.Headers.SourceIdentity)
	if !strings.HasPrefix(si, "usr-") {
		t.Errorf("%s = %q, want alice's usr-<sub>", env.Headers.SourceIdentity, si)
	}
	ds := s.Decisions()
	if len(ds) == 0 || !ds[len(ds)-1].Allow || ds[len(ds)-1].Tenant != "acme" {
		t.Errorf("the authorizer's last decision: %+v, want alice's allow for acme", ds)
	}
	if !slices.ContainsFunc(s.Logs(), func(l string) bool { return strings.Contains(l, `"msg":"served"`) }) {
		t.Error("Env.Logger's line is not in Stack.Logs")
	}
	if _, err := s.AWSConfig(ctx, mcpssotest.UserSession("alice")); err != nil {
		t.Fatal(err)
	}
	trail := s.CloudTrail()
	if !slices.ContainsFunc(trail, func(r mcpssotest.TrailRecord) bool {
		return r.EventName == "AssumeRole" && len(r.Raw) > 0 && r.SourceIdentity == "" && strings.Contains(string(r.Raw), `"sourceIdentity":"`+si+`"`)
	}) {
		t.Errorf("no AssumeRole for alice in CloudTrail (%d records)", len(trail))
	}
}

func TestTheSeedProfileHasNoContextProof(t *testing.T) {
	var env mcpssotest.Env
	mcpssotest.Start(t, mcpssotest.WithProfile(mcpssotest.ProfileSeed), mcpssotest.WithMCPServer(func(e mcpssotest.Env) http.Handler {
		env = e
		return http.NotFoundHandler()
	}))
	if env.VerifyContext != nil {
		t.Error("seed: Env.VerifyContext is set, but the seed's authorizer signs nothing")
	}
}
