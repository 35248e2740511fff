// Package target is the description of a deployment under test for `mcpsso conform --target`:
// where its MCP endpoint is, how the suites get tokens for its test users, which tenant each
// user belongs to, and which optional capabilities it offers (reading CloudTrail, scraping
// metrics). Decoding is strict: unknown fields are errors naming the field.
package target

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/mcpsso/mcpsso/internal/probe"
)

// File is a target file.
type File struct {
	// Name labels the deployment in reports.
	Name string `yaml:"name"`
	// MCPURL is the MCP endpoint clients call (through the gateway).
	MCPURL string `yaml:"mcpUrl"`
	// Tokens says how the suites get a valid access token for a user.
	Tokens Tokens `yaml:"tokens"`
	// Users are the test users; at least one with a tenant.
	Users []User `yaml:"users"`
	// Capabilities the deployment offers: cloudtrail, metrics, signin (its IdP logs in the user
	// login_hint names with no person at a browser, as the kit's mock IdP does: `mcpsso up`).
	Capabilities []string `yaml:"capabilities"`
	// CloudTrail is how to read the deployment's CloudTrail (capability cloudtrail).
	CloudTrail *CloudTrail `yaml:"cloudtrail"`
	// MetricsURL is the MCP server's Prometheus endpoint (capability metrics).
	MetricsURL string `yaml:"metricsUrl"`
	// Probes map the suites' operations (whoami, read, list, write, delete) onto the
	// deployment's own tools; nil is the reference server's mapping (probe.Reference).
	Probes *probe.Set `yaml:"probes"`
}

// Tokens is a token source: "preissued" (each user's token, inline or from an environment
// variable) or "command" (a command that prints a user's token on stdout, {user} replaced by the
// user's name, e.g. `mcpsso token --user {user} --issuer https://idp.example.com`, which runs the
// device grant: the mock IdP approves it, a real IdP waits for you to).
type Tokens struct {
	Source  string `yaml:"source"`
	Command string `yaml:"command"`
}

// User is a test user of the deployment.
type User struct {
	Name string `yaml:"name"`
	// Tenant is the tenant the deployment maps the user to; "" for a user it must refuse.
	Tenant string `yaml:"tenant"`
	// Bucket is the tenant's bucket (default quilt-tenant-<tenant>).
	Bucket string `yaml:"bucket"`
	// SourceIdentity is the source identity the deployment derives for the user, if known.
	SourceIdentity string `yaml:"sourceIdentity"`
	// Role is the ARN of the IAM role the deployment acts as for the user, if known; the suites
	// then check the tools really run as that role (not, say, as the task role).
	Role string `yaml:"role"`
	// Token and TokenEnv give a preissued token.
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"tokenEnv"`
}

// CloudTrail is read access to the deployment's CloudTrail (LookupEvents).
type CloudTrail struct {
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	// Credentials come from the environment variables named here (never from the file).
	AccessKeyIDEnv     string `yaml:"accessKeyIdEnv"`
	SecretAccessKeyEnv string `yaml:"secretAccessKeyEnv"`
	SessionTokenEnv    string `yaml:"sessionTokenEnv"`
}

// ProbeSet is the file's probes, the reference server's mapping when it declares none.
func (f *File) ProbeSet() *probe.Set {
	if f.Probes == nil {
		return probe.Reference()
	}
	return f.Probes
}

// ExternalCapabilities are the capabilities an external target can offer.
var ExternalCapabilities = []string{"cloudtrail", "metrics", "signin"}

var (
	roleARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	userRe    = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	tenantRe  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
	envRe     = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// Load reads and validates a target file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes (strictly) and validates a target file.
func Parse(data []byte) (*File, error) {
	var f File
	if err := safeUnmarshal(data, &f, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("invalid YAML (unknown fields are errors):\n%s", yaml.FormatError(err, false, true))
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) validate() error {
	u, err := url.Parse(f.MCPURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("mcpUrl: %q must be an absolute http(s) URL, the MCP endpoint clients call", f.MCPURL)
	}
	if f.Name == "" {
		f.Name = u.Host
	}
	switch f.Tokens.Source {
	case "preissued":
		if f.Tokens.Command != "" {
			return errors.New("tokens.command: only for source command")
		}
	case "command":
		if !strings.Contains(f.Tokens.Command, "{user}") {
			return fmt.Errorf("tokens.command: %q must contain {user}, replaced by each user's name", f.Tokens.Command)
		}
	default:
		return fmt.Errorf("tokens.source: %q must be preissued (tokens per user) or command (a command printing a user's token)", f.Tokens.Source)
	}
	if len(f.Users) == 0 {
		return errors.New("users: at least one test user is required")
	}
	tenants := 0
	seen := map[string]bool{}
	for i := range f.Users {
		u := &f.Users[i]
		field := fmt.Sprintf("users[%d]", i)
		switch {
		case !userRe.MatchString(u.Name):
			return fmt.Errorf("%s.name: %q must be 1-64 letters, digits or ._@-", field, u.Name)
		case seen[u.Name]:
			return fmt.Errorf("%s.name: %s is listed twice", field, u.Name)
		case u.Tenant != "" && !tenantRe.MatchString(u.Tenant):
			return fmt.Errorf("%s.tenant: %q must be lower-case letters, digits and inner hyphens", field, u.Tenant)
		case u.Role != "" && !roleARNRe.MatchString(u.Role):
			return fmt.Errorf("%s.role: %q must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/<path/name>", field, u.Role)
		case u.Role != "" && u.Tenant == "":
			return fmt.Errorf("%s.role: a user without a tenant is one the deployment must refuse, so it has no role", field)
		case u.TokenEnv != "" && !envRe.MatchString(u.TokenEnv):
			return fmt.Errorf("%s.tokenEnv: %q is not an environment variable name", field, u.TokenEnv)
		case f.Tokens.Source == "preissued" && (u.Token == "") == (u.TokenEnv == ""):
			return fmt.Errorf("%s: with tokens.source preissued give exactly one of token and tokenEnv", field)
		case f.Tokens.Source == "command" && (u.Token != "" || u.TokenEnv != ""):
			return fmt.Errorf("%s: token and tokenEnv are for tokens.source preissued", field)
		}
		seen[u.Name] = true
		if u.Tenant != "" {
			tenants++
			if u.Bucket == "" {
				u.Bucket = "quilt-tenant-" + u.Tenant
			}
		}
	}
	if tenants == 0 {
		return errors.New("users: at least one user must have a tenant")
	}
	for i, c := range f.Capabilities {
		if !slices.Contains(ExternalCapabilities, c) {
			return fmt.Errorf("capabilities[%d]: %q is not a capability an external deployment can offer (%s); the others need the embedded target",
				i, c, strings.Join(ExternalCapabilities, ", "))
		}
	}
	if slices.Contains(f.Capabilities, "cloudtrail") {
		ct := f.CloudTrail
		if ct == nil || ct.AccessKeyIDEnv == "" || ct.SecretAccessKeyEnv == "" {
			return errors.New("cloudtrail: capability cloudtrail needs cloudtrail.accessKeyIdEnv and secretAccessKeyEnv (environment variable names)")
		}
		if ct.Region == "" {
			ct.Region = "us-east-1"
		}
	}
	if slices.Contains(f.Capabilities, "metrics") {
		if m, err := url.Parse(f.MetricsURL); err != nil || m.Host == "" {
			return fmt.Errorf("metricsUrl: %q must be the MCP server's Prometheus URL for capability metrics", f.MetricsURL)
		}
	}
	return f.Probes.Validate()
}

// PreissuedToken returns the user's preissued token.
func (u User) PreissuedToken() (string, error) {
	if u.Token != "" {
		return u.Token, nil
	}
	t := os.Getenv(u.TokenEnv)
	if t == "" {
		return "", fmt.Errorf("target: user %s: environment variable %s is empty", u.Name, u.TokenEnv)
	}
	return t, nil
}

// safeUnmarshal is yaml.UnmarshalWithOptions that turns a panic inside the YAML library into
// an error: its decoder dereferences nil on some tagged scalars (found by fuzzing, e.g.
// "key: !0000 00"), and bad input must get an error, never a crash.
func safeUnmarshal(data []byte, v any, opts ...yaml.DecodeOption) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this input: %v", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, opts...)
}
