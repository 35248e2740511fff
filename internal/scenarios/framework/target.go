// Package framework is what the scenario suites stand on: the deployment under test (a Target,
// chosen by name: embedded, external, …), typed labels that become Ginkgo labels and a [Tag] in
// the spec name, capabilities a spec needs (specs whose capability the target lacks are skipped
// with the reason, never hidden behind an if), and the known-failures baseline, where a listed
// failure that passes also fails the run. It is the suites' only import from the kit
// (docs/architecture.md), so it also carries what a spec needs from below: the MCP client
// helpers, and the mocks' words the Target contract speaks (CloudTrail records, forgeries).
package framework

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Capability is something a target can offer beyond the MCP endpoint and tokens.
type Capability string

// The capabilities specs ask for.
const (
	// CapForge: the target mints forged tokens (expired, wrong audience, alg none, …): a mock IdP.
	CapForge Capability = "forge"
	// CapAWSAdmin: administrator SDK access to the deployment's AWS account(s).
	CapAWSAdmin Capability = "aws-admin"
	// CapTaskRole: SDK access as the MCP server's task role, to test trust policies at STS.
	CapTaskRole Capability = "task-role"
	// CapCloudTrail: the target's CloudTrail records can be read.
	CapCloudTrail Capability = "cloudtrail"
	// CapLogs: the components' JSON log lines can be read.
	CapLogs Capability = "logs"
	// CapMetrics: the MCP server's Prometheus endpoint can be scraped.
	CapMetrics Capability = "metrics"
	// CapDirectMCP: the MCP server can be reached bypassing the gateway, as another process on
	// its host or another service in its VPC (an SSRF) could: the suites send it forged decided
	// headers there, which it must refuse.
	CapDirectMCP Capability = "direct-mcp"
	// CapProveContext: the suites hold the secret the deployment's authorizer signs the decided
	// context with (x-context-proof), so they can send the MCP server, reached directly, a
	// decided context of their choosing, proven as the gateway would.
	CapProveContext Capability = "prove-context"
	// CapSessions: the MCP server issues stateful sessions (protocol 2025-11-25 session ids).
	CapSessions Capability = "sessions"
	// CapSignIn: the suites can sign in as a test user the way an MCP client does, through the
	// authorization endpoint (authorization code + PKCE) with no person at a browser: the kit's
	// mock IdP logs in the user its login_hint names.
	CapSignIn Capability = "signin"
	// CapClientMetadata: the target's IdP fetches Client ID Metadata Documents that the suites
	// publish (an HTTPS host on loopback the IdP is set to trust), so a client can register the
	// way the MCP spec of 2025-11-25 prefers.
	CapClientMetadata Capability = "client-metadata"
)

// AllCapabilities lists every capability, for validating target files.
var AllCapabilities = []Capability{CapForge, CapAWSAdmin, CapTaskRole, CapCloudTrail, CapLogs, CapMetrics, CapDirectMCP, CapProveContext, CapSessions, CapSignIn, CapClientMetadata}

// ErrNotSupported is what a target's optional operation returns when it lacks the capability.
var ErrNotSupported = errors.New("not supported by this target")

// User is a test user of the target.
type User struct {
	Name string
	// Tenant is the tenant the user's data belongs to; "" for a user with no mapping, whom the
	// deployment must refuse.
	Tenant string
	// Bucket is the tenant's bucket.
	Bucket string
	// SourceIdentity is the source identity the deployment is expected to derive, when known.
	SourceIdentity string
	// Role is the ARN of the IAM role the deployment is expected to act as for the user, when
	// known.
	Role string
}

// Target is a deployment under test.
type Target interface {
	// Name identifies the target kind ("embedded", "external", …).
	Name() string
	// Profile is "reference" or "seed" for kit-made stacks, "" for others.
	Profile() string
	// MCPURL is the MCP endpoint clients call.
	MCPURL() string
	// Users are the test users.
	Users() []User
	// Token returns a valid access token for a user.
	Token(ctx context.Context, user string) (string, error)
	// Capabilities the target offers.
	Capabilities() []Capability
	// Probes map the suites' operations onto the deployment's tools (ReferenceProbes for the
	// reference server); an operation it does not declare skips the specs that need it.
	Probes() *Probes

	// Optional operations: ErrNotSupported without the capability.

	// Forge mints a forged token (CapForge); forgery is a Forgery's String.
	Forge(ctx context.Context, forgery, user string) (string, error)
	// AdminAWS is administrator SDK access to an account (CapAWSAdmin).
	AdminAWS(account string) (aws.Config, error)
	// TaskRoleAWS is SDK access as the MCP server's task role (CapTaskRole).
	TaskRoleAWS(ctx context.Context) (aws.Config, error)
	// CloudTrail returns records, newest first (CapCloudTrail).
	CloudTrail(ctx context.Context, f TrailFilter) ([]TrailEvent, error)
	// Logs returns the components' JSON log lines (CapLogs).
	Logs() ([]string, error)
	// MetricsURL is the MCP server's Prometheus endpoint (CapMetrics).
	MetricsURL() (string, error)
	// MCPDirectURL is the MCP server bypassing the gateway (CapDirectMCP).
	MCPDirectURL() (string, error)
	// ProveContext sets h's x-context-proof as the deployment's authorizer would for a request
	// of method to path with h's decided headers (CapProveContext).
	ProveContext(method, path string, h http.Header) error
	// Accounts are the deployment's AWS account IDs, first the deployment's own.
	Accounts() []string
	// RoleARN returns the ARN of a role by name in the first account, "" when unknown.
	RoleARN(name string) string
	// PublishClientMetadata serves a Client ID Metadata Document holding metadata (RFC 7591
	// client metadata) plus its own URL as client_id, and returns that URL, the client's ID
	// (CapClientMetadata).
	PublishClientMetadata(metadata map[string]any) (string, error)

	Close() error
}

// Has reports whether t offers c.
func Has(t Target, c Capability) bool { return slices.Contains(t.Capabilities(), c) }

// NullTarget answers ErrNotSupported to every optional operation; embed it in a target and
// override what it supports.
type NullTarget struct{}

// Forge is not supported.
func (NullTarget) Forge(context.Context, string, string) (string, error) { return "", ErrNotSupported }

// AdminAWS is not supported.
func (NullTarget) AdminAWS(string) (aws.Config, error) { return aws.Config{}, ErrNotSupported }

// TaskRoleAWS is not supported.
func (NullTarget) TaskRoleAWS(context.Context) (aws.Config, error) {
	return aws.Config{}, ErrNotSupported
}

// CloudTrail is not supported.
func (NullTarget) CloudTrail(context.Context, TrailFilter) ([]TrailEvent, error) {
	return nil, ErrNotSupported
}

// Logs is not supported.
func (NullTarget) Logs() ([]string, error) { return nil, ErrNotSupported }

// MetricsURL is not supported.
func (NullTarget) MetricsURL() (string, error) { return "", ErrNotSupported }

// MCPDirectURL is not supported.
func (NullTarget) MCPDirectURL() (string, error) { return "", ErrNotSupported }

// ProveContext is not supported.
func (NullTarget) ProveContext(string, string, http.Header) error { return ErrNotSupported }

// Accounts are unknown.
func (NullTarget) Accounts() []string { return nil }

// RoleARN is unknown.
func (NullTarget) RoleARN(string) string { return "" }

// PublishClientMetadata is not supported.
func (NullTarget) PublishClientMetadata(map[string]any) (string, error) { return "", ErrNotSupported }

// Profile is unknown.
func (NullTarget) Profile() string { return "" }

// Probes are the reference server's.
func (NullTarget) Probes() *Probes { return ReferenceProbes() }

// Close does nothing.
func (NullTarget) Close() error { return nil }

// Options configure how a target is built.
type Options struct {
	// File is the target file (external targets).
	File string
	// Profile is reference or seed (kit-made stacks).
	Profile string
	// FixtureFile deploys this fixture in the embedded stack instead of the default one (its
	// policies inline, e.g. imported from infrastructure code by `mcpsso fixture import`).
	FixtureFile string
	// AWSBackend is what serves AWS in kit-made stacks: "" or "emulator" (the kit's own),
	// "moto" (moto_server from PATH), "localstack" (containers only), or the http(s) URL of a
	// running AWS-compatible service; all but the emulator are fronted by the enforcing proxy.
	AWSBackend string
	// BypassEnforce leaves the enforcing proxy out, for showing that enforcement is the kit's.
	BypassEnforce bool
	// MCPImage and AuthorizerImage replace the reference MCP server and authorizer with
	// images of your own (containers target).
	MCPImage, AuthorizerImage string
	// Sessions runs the kit's MCP server with stateful sessions (embedded target): the target
	// then offers CapSessions.
	Sessions bool
	// IdPProfile is the provider whose tokens the mock IdP of a kit-made stack issues
	// ("": the fixture's, else generic; the names are the mock IdP's profiles).
	IdPProfile string
}

// Factory builds a target.
type Factory func(ctx context.Context, o Options) (Target, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Factory{}
)

// Register makes a target kind available by name. Registering a name twice panics.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("framework: target " + name + " registered twice")
	}
	registry[name] = f
}

// Targets lists the registered target kinds.
func Targets() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewTarget builds a registered target.
func NewTarget(ctx context.Context, name string, o Options) (Target, error) {
	registryMu.Lock()
	f, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("framework: no target %q (targets: %s)", name, strings.Join(Targets(), ", "))
	}
	return f(ctx, o)
}

var (
	currentMu sync.RWMutex
	current   Target
)

// SetCurrent makes t the target the specs run against.
func SetCurrent(t Target) {
	currentMu.Lock()
	defer currentMu.Unlock()
	current = t
}

// Current is the target the specs run against.
func Current() Target {
	currentMu.RLock()
	defer currentMu.RUnlock()
	if current == nil {
		panic("framework: no current target: the suite did not set one up")
	}
	return current
}
