package mcpssotest_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

// yourServer stands for your MCP server's handler.
var yourServer = func(env mcpssotest.Env) http.Handler { return http.NotFoundHandler() }

// The shortest test: the stack around the reference server, and the suites as subtests.
func ExampleStart() {
	testTheReferenceServer := func(t *testing.T) {
		s := mcpssotest.Start(t)
		mcpssotest.Conform(t, s)
	}
	_ = testTheReferenceServer
}

// Your own MCP server in the reference server's place, given what it gets on AWS.
func ExampleWithMCPServer() {
	testYourServer := func(t *testing.T) {
		s := mcpssotest.Start(t, mcpssotest.WithMCPServer(func(env mcpssotest.Env) http.Handler {
			// env.AWSConfig() has the task role's credentials; env.VerifyContext checks the
			// decided headers; env.AllowedOrigins are the browser origins to accept.
			return yourServer(env)
		}), mcpssotest.WithLogOutput(os.Stderr))
		mcpssotest.Conform(t, s)
	}
	_ = testYourServer
}

// The suites mapped onto your tools, with a baseline of the specs your server is known to
// fail and a JUnit report for CI.
func ExampleConform() {
	testYourServer := func(t *testing.T) {
		s := mcpssotest.Start(t, mcpssotest.WithMCPServer(yourServer))
		mcpssotest.Conform(t, s,
			mcpssotest.WithProbes(mcpssotest.Probes{
				Whoami: &mcpssotest.Probe{Tool: "identity", Fields: &mcpssotest.WhoamiFields{ARN: "caller.arn", Tenant: "session.tenant"}},
				Read:   &mcpssotest.Probe{Tool: "read_file", Arguments: map[string]any{"uri": "{uri}"}, DeniedMatch: "AccessDenied"},
			}),
			mcpssotest.WithKnownFailures("testdata/known-failures.txt"),
			mcpssotest.WithJUnit("conformance.xml"))
	}
	_ = testYourServer
}

// A test of your own: alice's session may read her tenant's bucket, as your server's would.
func ExampleStack_AWSConfig() {
	testAlicesSession := func(t *testing.T) {
		ctx := context.Background()
		s := mcpssotest.Start(t)
		cfg, err := s.AWSConfig(ctx, mcpssotest.UserSession("alice"))
		if err != nil {
			t.Fatal(err)
		}
		bucket := "quilt-tenant-acme"
		if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).
			ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket}); err != nil {
			t.Errorf("alice lists her tenant's bucket: %v", err)
		}
		for _, d := range s.Decisions() {
			t.Log(d.Allow, d.Reason, d.SourceIdentity)
		}
	}
	_ = testAlicesSession
}

// An access token for an MCP client of your own, against the MCP URL behind the gateway.
func ExampleStack_Token() {
	testWithYourClient := func(t *testing.T) {
		s := mcpssotest.Start(t)
		req, _ := http.NewRequest(http.MethodPost, s.MCPURL(), nil)
		req.Header.Set("Authorization", "Bearer "+s.Token(t, "alice"))
		_ = req
	}
	_ = testWithYourClient
}

// The principals AWSConfig acts as.
func ExampleUserSession() {
	fmt.Println(mcpssotest.Administrator)
	fmt.Println(mcpssotest.TaskRole)
	fmt.Println(mcpssotest.UserSession("alice"))
	// Output:
	// administrator
	// task role
	// user session of alice
}
