// Package mcpssotest tests an MCP server of your own, written in Go, the way mcpsso tests a
// deployment: from your own go test, around your own http.Handler, with the race detector and
// coverage over your server while the conformance suites drive it.
//
// # The stack
//
// Start brings up, in the test's process and on free loopback ports, what your server meets on
// AWS: a mock OIDC IdP with test users (alice and dave of tenant acme, bob of globex, carol
// with no mapping), AWS (STS, IAM, S3, CloudTrail) that enforces the trust and tenant policies
// as AWS does, the ECS container-credentials endpoint of the task role, the reference Lambda
// authorizer, and API Gateway in front. tb.Cleanup stops it all. Options choose the fixture
// (WithFixtureFile), the profile (WithProfile: the corrected reference deployment, or the
// tutorial's seed), the IdP's token shape (WithIdPProfile), what serves AWS (WithAWSBackend:
// the kit's emulator, moto, or any endpoint, behind the enforcing proxy) and where the
// components' JSON logs go besides the Stack (WithLogOutput).
//
// Without WithMCPServer the stack runs the kit's reference MCP server. WithMCPServer runs yours
// in its place: your function gets an Env and returns the handler of the MCP endpoint. The
// gateway calls it as it would call your container, with the headers its authorizer decided
// (Env.Headers): the role to act as, the source identity, and the session tags with the
// tenant. A server of the pattern, per request:
//
//   - refuses a request whose Origin is not in Env.AllowedOrigins, and one whose decided
//     headers Env.VerifyContext refuses (anything but the gateway could have sent them);
//   - calls STS AssumeRole with the task role's credentials (Env.TaskRole, served as ECS
//     serves them; Env.AWSConfig is the whole SDK configuration), the decided role, the source
//     identity as SourceIdentity and session name, and the session tags;
//   - does the user's work with that session's credentials and never with the task role's.
//
// The stack's accessors let a test of your own look in: MCPURL and Issuer for an MCP client,
// Token for a user's access token, AWSConfig for the AWS SDK as the administrator, the task
// role or a user's session (UserSession), CloudTrail for the records AWS made, Decisions for
// the authorizer's decisions, and Logs for every component's log lines.
//
// # The suites
//
// Conform runs the scenario suites (`mcpsso conform`'s, docs/conformance.md) against the
// stack, each spec a subtest named "<suite>/<spec>" of the test that calls it (spaces become
// underscores, as go test writes them), so
//
//	go test -run 'TestConform/Tenant_isolation/'
//
// runs the tenant isolation specs alone, and go test -json reports each spec. A spec that
// needs a capability the stack lacks (metrics, which the kit reads only from its own server;
// stateful sessions) is left out, as a label filter leaves specs out, and the test's log says
// how many and why.
//
// The suites reach your tools through probes: who am I, read, list, write and delete an
// object. By default they call the reference server's tools (whoami, get_object,
// list_objects, put_object); WithProbes maps them onto yours. WithKnownFailures takes a
// baseline of the specs your server is known to fail, each with the reason: such a failure
// passes, while a listed spec that passes, or a line that matches no spec, fails the test, so
// the baseline stays exact. WithJUnit writes a JUnit report, WithLabelFilter narrows the run
// by label.
//
// # One Conform per test binary
//
// The suites are Ginkgo specs, and Ginkgo runs the specs of a process once. Conform therefore
// runs once per test binary, in process (so that the race detector and coverage see your
// server), and a second call fails its test and says so. Put each Conform, say one per server
// defect your tests show the suites catch, in a package of its own: go test runs each
// package's binary separately. To select specs before running them, Conform lists them with
// a dry run in a child process of the test binary (it re-executes itself with an environment
// variable that makes this package's init write the list and exit), registers one parallel
// subtest per spec, which go test's -run either starts or leaves out, then runs the started
// ones in one Ginkgo run and hands each subtest its result.
//
// # Isolation
//
// Every Stack has its own ports, keys, users' tokens and AWS state: stacks in parallel tests
// do not see each other, and a stopped stack leaves no goroutine behind.
package mcpssotest
