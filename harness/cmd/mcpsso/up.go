package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/gateway"
)

type upFlags struct {
	config    string
	profile   string
	portBase  int
	logFormat string
	backend   string
	bypass    bool
	origins   []string
	sessions  bool
	idp       string
}

// upOriginFlag is up's flag for browser origins, named by the 403 an unlisted origin gets.
const upOriginFlag = "mcpsso up --allowed-origin"

func newUpCommand() *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up [--config F] [--profile reference|seed] [--idp-profile NAME] [--port-base N] [--allowed-origin ORIGIN] [--aws-backend emulator|moto|URL]",
		Short: "Run the whole stack locally: IdP, AWS, authorizer, gateway, MCP server",
		Long: `Start the whole deployment on this machine, with no AWS account: the mock IdP with the
fixture's users, the AWS emulator (STS, IAM, S3, CloudTrail) seeded with the fixture's roles,
policies and buckets, the ECS task-role credentials endpoint, the reference MCP server, the
reference Lambda authorizer, and the API Gateway emulator in front. Runs until Ctrl-C.

It prints the endpoints, the users, ready-to-paste commands (get a token, call a tool with curl or
the MCP Inspector CLI, configure an MCP client, use AWS as an administrator), a line
"ready <MCP URL>", then a live decision log: one line per gateway, authorizer, MCP server and AWS
decision (allow or deny, user, tenant, role, reason).

Browser-based MCP clients: a browser sends an Origin header, which the MCP server checks (a
present but unlisted Origin gets 403, against DNS rebinding), and from another origin first a
CORS preflight, which the gateway answers without a token. The gateway's own origin
(http://127.0.0.1:8480, that of a page served from there) is allowed; --allowed-origin adds
others, such as a web app's development server at http://localhost:5173 (repeatable or
comma-separated; scheme://host[:port] exactly as the browser sends it: localhost and 127.0.0.1
are different origins). Only the reference profile answers preflights.

Profiles: "reference" deploys the corrected policies behind a REST API whose 401 carries the MCP
challenge; "seed" deploys the tutorial's policies and HTTP API verbatim, to watch it fail.

` + idpProfileHelp() + `
Without the flag, the fixture's idp.profile decides (generic when it has none).

Ports are stable so a client configuration keeps working: gateway 8480, IdP 8400, AWS 4566,
MCP server 8481 (behind the gateway), task-role credentials 8482, metrics 8483. --port-base N
moves them to N (gateway), N+1 (IdP), N+2 (AWS), N+3, N+4, N+5.

--aws-backend moto runs moto_server (from PATH) instead of the emulator, and a URL uses an
AWS-compatible service you run (LocalStack, moto; admin key test/test): either behind the kit's
enforcing proxy, on the AWS port, which enforces the policies they ignore. Such a backend serves
one account: the fixture's other accounts are not deployed. --bypass-enforce leaves the proxy
out, to see what the upstream alone lets through.

While it runs, it records its IdP issuer, MCP URL and required scopes in a state file
($MCPSSO_UP_STATE, else $XDG_RUNTIME_DIR/mcpsso/up.json, else mcpsso/up.json in the user's
cache directory), removed when it stops, so "mcpsso token --user alice" needs no --issuer.

--sessions runs the MCP server stateful: an initialize of protocol 2025-11-25 gets an
Mcp-Session-Id, bound to the user who opened it (by default it is stateless, as protocol
2026-07-28 is). A fixture whose mcp section declares scopes gets them required of every token,
listed in the protected resource metadata and the 401 challenge, and the printed token command
asks for them.`,
		Example: `  mcpsso up
  # in another terminal, what it prints:
` + indent(upSnippets(defaultUpURLs()).script(), "  ") + `
  # A browser-based MCP client served by a development server on another origin
  mcpsso up --allowed-origin http://localhost:5173

  # The tutorial as written, on other ports
  mcpsso up --profile seed --port-base 9480

  # moto_server as the AWS, behind the enforcing proxy
  mcpsso up --aws-backend moto

  # The IdP issues tokens as Amazon Cognito does (no aud; client_id and token_use instead)
  mcpsso up --idp-profile cognito`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runUp(cmd, f) },
	}
	cmd.Flags().StringVar(&f.config, "config", "default", `fixture file, or "default" for the embedded one`)
	cmd.Flags().StringVar(&f.profile, "profile", stack.ProfileReference, "reference (corrected) or seed (the tutorial verbatim)")
	cmd.Flags().IntVar(&f.portBase, "port-base", 0, "lay the ports out from N instead of the defaults")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "text", "decision log: text (one readable line per decision) or json (every component's JSON lines)")
	cmd.Flags().StringVar(&f.backend, "aws-backend", "emulator", "emulator, moto (moto_server from PATH), or the URL of an AWS-compatible service")
	cmd.Flags().BoolVar(&f.bypass, "bypass-enforce", false, "with --aws-backend moto or a URL: leave the enforcing proxy out")
	addIdPProfileFlag(cmd, &f.idp)
	cmd.Flags().StringSliceVar(&f.origins, "allowed-origin", nil, "a browser `ORIGIN` (scheme://host[:port]) allowed to call, beside the gateway's own; repeatable or comma-separated")
	cmd.Flags().BoolVar(&f.sessions, "sessions", false, "run the MCP server with stateful sessions (2025-11-25 session ids, each bound to its user)")
	return cmd
}

func runUp(cmd *cobra.Command, f upFlags) error {
	fx, err := loadFixture(f.config)
	if err != nil {
		return err
	}
	if err := checkProfile(f.profile); err != nil {
		return err
	}
	if err := checkIdPProfile(f.idp); err != nil {
		return err
	}
	ports := stack.DefaultPorts
	if f.portBase != 0 {
		if f.portBase < 1024 || f.portBase > 65530 {
			return fmt.Errorf("--port-base %d: must be between 1024 and 65530 (it uses six ports from there)", f.portBase)
		}
		ports = stack.PortsFrom(f.portBase)
	}
	backend, err := stack.ParseAWSBackend(f.backend, f.bypass)
	if err != nil {
		return fmt.Errorf("--aws-backend: %w", err)
	}
	for _, o := range f.origins {
		if err := gateway.CheckOrigin(o); err != nil {
			return fmt.Errorf("--allowed-origin %w", err)
		}
	}
	if len(f.origins) > 0 && f.profile == stack.ProfileSeed {
		return fmt.Errorf("--allowed-origin with --profile seed: the tutorial's HTTP API, as written, answers no CORS preflight, so no browser on another origin can call it (the gateway's own origin needs none); use --profile reference")
	}
	var logOut io.Writer
	switch f.logFormat {
	case "json":
		logOut = cmd.ErrOrStderr()
	case "text":
		dl := &decisionLog{out: cmd.ErrOrStderr()}
		logOut = dl
	default:
		return fmt.Errorf("--log-format %q: must be text or json", f.logFormat)
	}
	ctx := cmd.Context()
	t0 := time.Now()
	opts := []stack.Option{stack.WithFixture(fx), stack.WithProfile(f.profile), stack.WithPorts(ports),
		stack.WithLogOutput(logOut, slog.LevelInfo), stack.WithAWSBackend(backend),
		stack.WithAllowedOrigins(f.origins...), stack.WithOriginHint(upOriginFlag)}
	if f.sessions {
		opts = append(opts, stack.WithSessions())
	}
	if cmd.Flags().Changed(idpProfileFlag) {
		opts = append(opts, stack.WithIdPProfile(f.idp))
	}
	s, err := stack.Start(ctx, opts...)
	if err != nil {
		return failure{err}
	}
	defer s.Close()
	// Without the state file the stack still works; only `mcpsso token` then needs --issuer.
	if removeState, err := writeUpState(upState{PID: os.Getpid(), Issuer: s.IssuerURL(), MCP: s.MCPURL(), Scopes: s.Scopes(), Started: t0.UTC()}); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v: mcpsso token will need --issuer %s\n", err, s.IssuerURL())
	} else {
		defer removeState()
	}
	printUp(cmd.OutOrStdout(), s, time.Since(t0))
	<-ctx.Done()
	fmt.Fprintln(cmd.ErrOrStderr(), "stopping")
	return shutDown(s)
}

func printUp(w io.Writer, s *stack.Stack, took time.Duration) {
	fx := s.Fixture()
	fmt.Fprintf(w, "mcpsso up: profile %s, AWS %s, started in %s\n", s.Profile(), s.AWSBackend().Name(), took.Round(time.Millisecond))
	if p := s.IdP().Profile(); p.Name != mockidp.ProfileGeneric {
		fmt.Fprintf(w, "The IdP issues tokens as %s does (--idp-profile %s).\n", p.Provider, p.Name)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "component\tURL")
	fmt.Fprintf(tw, "MCP (through the gateway)\t%s\n", s.MCPURL())
	fmt.Fprintf(tw, "IdP issuer\t%s\n", s.IssuerURL())
	fmt.Fprintf(tw, "AWS (STS, IAM, S3, CloudTrail)\t%s\n", s.AWSEndpoint())
	fmt.Fprintf(tw, "MCP server (direct; the gateway's integration)\t%s\n", s.MCPDirectURL())
	fmt.Fprintf(tw, "MCP server metrics\t%s\n", s.MetricsURL())
	_ = tw.Flush()
	origins := s.AllowedOrigins()
	fmt.Fprintf(w, "\nBrowser-based clients may call from %s (the gateway's own origin)", origins[0])
	for _, o := range origins[1:] {
		fmt.Fprintf(w, ", %s", o)
	}
	fmt.Fprintf(w, "; add origins with --allowed-origin.\n")

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "user\ttenant\tsubject\trole")
	for _, u := range fx.Users {
		role := "(no mapping: denied)"
		if m, ok := fx.MappingFor(u.Sub); ok {
			role = m.Role
		}
		tenant := u.Tenant
		if tenant == "" {
			tenant = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, tenant, u.Sub, role)
	}
	_ = tw.Flush()

	user := "alice"
	if len(fx.Mappings) > 0 {
		user = fx.Mappings[0].User
	}
	fmt.Fprintf(w, "\n%s\n", upSnippets(upURLs{user: user, issuer: s.IssuerURL(), mcp: s.MCPURL(), aws: s.AWSEndpoint(),
		taskEnv: strings.Join(s.TaskRoleEnv(), " "), scopes: s.Scopes()}).text())
	fmt.Fprintf(w, "ready %s\n", s.MCPURL())
}

// upURLs are what up's commands are made of.
type upURLs struct {
	user, issuer, mcp, aws, taskEnv string
	// scopes are those the fixture's MCP resource requires, which the token command asks for.
	scopes []string
}

// tokenCommand is the command that gets a token of u.user the MCP server accepts.
func (u upURLs) tokenCommand() string {
	cmd := fmt.Sprintf("mcpsso token --user %s --issuer %s", u.user, u.issuer)
	if len(u.scopes) > 0 {
		// mcpsso token's default scopes, and those the MCP resource requires.
		cmd += fmt.Sprintf(" --scope '%s %s'", defaultTokenScope, strings.Join(u.scopes, " "))
	}
	return cmd
}

// defaultUpURLs are those of `mcpsso up` on its default ports, as --help and the README show them.
func defaultUpURLs() upURLs {
	p := stack.DefaultPorts
	return upURLs{user: "alice", issuer: fmt.Sprintf("http://127.0.0.1:%d", p.IdP), mcp: fmt.Sprintf("http://127.0.0.1:%d/mcp", p.Gateway),
		aws: fmt.Sprintf("http://127.0.0.1:%d", p.AWS),
		// The path and the token are new at every start: up prints them.
		taskEnv: fmt.Sprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:%d/v2/credentials/<id> AWS_CONTAINER_AUTHORIZATION_TOKEN=<token>", p.TaskRole)}
}

// snippet is a ready-to-paste command or configuration up prints, under a title.
type snippet struct {
	title string
	lines []string
}

type snippets []snippet

// upSnippets are the commands and configuration up prints. TestUpPrintsCommandsThatWork runs
// each one as printed, and TestTheUpDocShowsWhatUpPrints holds docs/up.md to them.
func upSnippets(u upURLs) snippets {
	return snippets{
		{"Get a token (device grant, approved by the mock IdP)", []string{
			"TOKEN=$(" + u.tokenCommand() + ")"}},
		{"Call a tool", []string{
			fmt.Sprintf(`curl -s %s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \`, u.mcp),
			`  -H 'Accept: application/json, text/event-stream' \`,
			`  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'`}},
		// The Inspector's own package, pinned: the separate @modelcontextprotocol/inspector-cli
		// package fails when run alone (it imports a package.json outside itself), and the
		// Inspector after 1.0.3 needs Node.js 22.
		{"With the MCP Inspector CLI (Node.js)", []string{
			fmt.Sprintf(`npx @modelcontextprotocol/inspector@1.0.3 --cli %s --transport http \`, u.mcp),
			`  --method tools/call --tool-name list_objects --header "Authorization: Bearer $TOKEN"`}},
		{"An MCP client (finds the IdP from the 401, logs in with PKCE as public client mcpsso-cli or registers itself)", []string{
			fmt.Sprintf(`{"mcpServers": {"quilt": {"type": "http", "url": "%s"}}}`, u.mcp)}},
		{"AWS as an administrator", []string{
			fmt.Sprintf("export AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test", u.aws)}},
		{"AWS as the MCP server's task role (its ECS credentials endpoint; no access key variables set)", []string{
			fmt.Sprintf("export AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 %s", u.aws, u.taskEnv)}},
	}
}

// text is the snippets as up prints them: each title, then its lines indented by two spaces.
func (ss snippets) text() string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.title + ":\n")
		for _, l := range s.lines {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// script is the snippets as a shell script shows them (--help, the README): each title as a
// comment, then its lines.
func (ss snippets) script() string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString("# " + s.title + ":\n")
		for _, l := range s.lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decisionMarks are the texts one of which every line readable renders contains: its keys
// "decision" or "outcome", the MCP server's refusal message or the gateway's component name.
// The components' slog JSON handlers write keys and these values verbatim.
var decisionMarks = [][]byte{[]byte(`"decision"`), []byte(`"outcome"`), []byte(`"request refused"`), []byte(`"gateway"`)}

func mayBeDecision(line []byte) bool {
	for _, m := range decisionMarks {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

// indent puts prefix before every line of text.
func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// decisionLog turns the components' JSON log lines into one readable line per decision.
type decisionLog struct {
	mu      sync.Mutex
	out     io.Writer
	partial []byte
}

func (d *decisionLog) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial = append(d.partial, p...)
	for {
		i := bytes.IndexByte(d.partial, '\n')
		if i < 0 {
			break // wait for the rest of the line
		}
		if s := readable(d.partial[:i]); s != "" {
			fmt.Fprintln(d.out, s)
		}
		d.partial = d.partial[i+1:]
	}
	return len(p), nil
}

// readable renders a JSON log line that carries a decision; other lines are dropped.
func readable(line []byte) string {
	if !mayBeDecision(line) {
		return "" // most lines: skip decoding them into a map
	}
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		return ""
	}
	decision, _ := rec["decision"].(string)
	component, _ := rec["component"].(string)
	switch {
	case decision == "" && rec["outcome"] != nil: // the MCP server's tool calls
		decision = fmt.Sprint(rec["outcome"])
	case decision == "" && rec["msg"] == "request refused": // the MCP server's refusals, before any tool
		decision = "deny"
		if e, ok := rec["error"]; ok {
			rec["reason"] = fmt.Sprintf("%v: %v", rec["reason"], e)
		}
	case decision == "" && component == "gateway": // access log: show what the gateway refused
		status, _ := rec["status"].(float64)
		if status < 400 {
			return ""
		}
		decision = "deny"
		rec["reason"] = fmt.Sprintf("HTTP %d %v %v", int(status), rec["httpMethod"], rec["path"])
	case decision == "":
		return ""
	}
	if caller, _ := rec["caller"].(string); strings.HasSuffix(caller, ":user/admin") {
		return "" // seeding and administration, not a user's request
	}
	ts, _ := rec["time"].(string)
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		ts = t.Local().Format("15:04:05")
	}
	var parts []string
	for _, k := range []string{"sub", "user", "email", "tenant", "caller", "source_identity", "role_arn", "role", "tool", "action", "outcome", "error_code", "reason"} {
		if v, ok := rec[k]; ok && v != "" && v != nil {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if d, ok := rec["detail"].(string); ok && d != "" {
		// Why, in words: the reason code alone does not say which claim or value was wrong.
		parts = append(parts, fmt.Sprintf("detail=%q", d))
	}
	return fmt.Sprintf("%s %-14s %-5s %s", ts, component, strings.ToUpper(decision), strings.Join(parts, " "))
}
