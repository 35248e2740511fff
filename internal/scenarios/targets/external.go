package targets

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/mcpsso/mcpsso/internal/harness/target"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

func init() {
	framework.Register("external", func(ctx context.Context, o framework.Options) (framework.Target, error) {
		if o.File == "" {
			return nil, errorf("the external target needs a target file (--target FILE)")
		}
		if o.Sessions {
			return nil, errorf("the external target is a deployment of yours: whether its MCP server keeps sessions is its own setting, not the kit's")
		}
		if o.IdPProfile != "" {
			return nil, errorf("the external target's IdP is the deployment's own: an IdP profile applies to kit-made targets")
		}
		f, err := target.Load(o.File)
		if err != nil {
			return nil, err
		}
		return NewExternal(f), nil
	})
}

// External is a deployment described by a target file: the suites reach it only through its
// MCP URL, its tokens and the capabilities it declares.
type External struct {
	framework.NullTarget
	f   *target.File
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]cachedToken // by user, from the token command
}

// cachedToken is a token the command printed and until when it may be handed out again.
type cachedToken struct {
	token string
	until time.Time
}

// NewExternal wraps a validated target file.
func NewExternal(f *target.File) *External {
	return &External{f: f, now: time.Now, tokens: map[string]cachedToken{}}
}

// tokenReuseMargin is how long before its exp a command's token is no longer handed out: a
// spec must not start with a token that expires during it.
const tokenReuseMargin = 2 * time.Minute

// reuseUntil is until when a token may be handed out again: a JWT until tokenReuseMargin
// before its exp (read, not verified: the deployment verifies it), anything else not at all.
func reuseUntil(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	exp, err := claims.Exp.Int64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(exp, 0).Add(-tokenReuseMargin)
}

// Name is "external".
func (e *External) Name() string { return "external" }

// MCPURL is the deployment's MCP endpoint.
func (e *External) MCPURL() string { return e.f.MCPURL }

// Users are the target file's users.
func (e *External) Users() []framework.User {
	var out []framework.User
	for _, u := range e.f.Users {
		out = append(out, framework.User{Name: u.Name, Tenant: u.Tenant, Bucket: u.Bucket, SourceIdentity: u.SourceIdentity, Role: u.Role})
	}
	return out
}

// Token gets a user's token from the file's token source.
func (e *External) Token(ctx context.Context, user string) (string, error) {
	i := slices.IndexFunc(e.f.Users, func(u target.User) bool { return u.Name == user })
	if i < 0 {
		return "", errorf("no test user %q in the target file", user)
	}
	u := e.f.Users[i]
	if e.f.Tokens.Source == "preissued" {
		return u.PreissuedToken()
	}
	// A command may take seconds (a device grant polls): a user's JWT is fetched once and
	// handed out again until shortly before it expires.
	e.mu.Lock()
	c, ok := e.tokens[user]
	e.mu.Unlock()
	if ok && e.now().Before(c.until) {
		return c.token, nil
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", strings.ReplaceAll(e.f.Tokens.Command, "{user}", user))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = os.Environ()
	out, err := cmd.Output()
	if err != nil {
		return "", errorf("token command for %s: %v: %s", user, err, strings.TrimSpace(stderr.String()))
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" || strings.ContainsAny(tok, " \n") {
		return "", errorf("token command for %s printed %d bytes that are not one token", user, len(out))
	}
	e.mu.Lock()
	e.tokens[user] = cachedToken{token: tok, until: reuseUntil(tok)}
	e.mu.Unlock()
	return tok, nil
}

// Probes are the file's, the reference server's mapping when it declares none.
func (e *External) Probes() *framework.Probes { return e.f.ProbeSet() }

// Capabilities are what the file declares.
func (e *External) Capabilities() []framework.Capability {
	var out []framework.Capability
	for _, c := range e.f.Capabilities {
		out = append(out, framework.Capability(c))
	}
	return out
}

// MetricsURL is the declared metrics endpoint.
func (e *External) MetricsURL() (string, error) {
	if !slices.Contains(e.f.Capabilities, "metrics") {
		return "", framework.ErrNotSupported
	}
	return e.f.MetricsURL, nil
}

// CloudTrail reads records through LookupEvents; data events are not in LookupEvents, as on
// AWS.
func (e *External) CloudTrail(ctx context.Context, f cloudtrail.Filter) ([]cloudtrail.Event, error) {
	ct := e.f.CloudTrail
	if ct == nil || !slices.Contains(e.f.Capabilities, "cloudtrail") {
		return nil, framework.ErrNotSupported
	}
	cfg := aws.Config{Region: ct.Region, Credentials: credentials.NewStaticCredentialsProvider(
		os.Getenv(ct.AccessKeyIDEnv), os.Getenv(ct.SecretAccessKeyEnv), os.Getenv(ct.SessionTokenEnv))}
	if ct.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(ct.Endpoint)
	}
	return lookupEvents(ctx, cfg, f)
}

// lookupEvents reads up to 1000 CloudTrail records matching f through LookupEvents with cfg,
// newest first, as the CloudTrail capability of the containers and external targets returns
// them.
func lookupEvents(ctx context.Context, cfg aws.Config, f cloudtrail.Filter) ([]cloudtrail.Event, error) {
	in := &awsct.LookupEventsInput{}
	if f.EventName != "" {
		in.LookupAttributes = []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(f.EventName)}}
	}
	var out []cloudtrail.Event
	p := awsct.NewLookupEventsPaginator(awsct.NewFromConfig(cfg), in)
	for p.HasMorePages() && len(out) < 1000 {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("targets: LookupEvents: %w", err)
		}
		for _, ev := range page.Events {
			var rec cloudtrail.Event
			if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
				return nil, fmt.Errorf("targets: a CloudTrail record does not parse: %w", err)
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

var _ framework.Target = (*External)(nil)
