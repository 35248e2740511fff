package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mcpsso/mcpsso/reference/authorizer"
	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// alice at the mock IdP (the built-in users) and the role the default fixture maps her to.
const (
	aliceSub        = "00u8c2d9qkL4mT7xw5d7"
	aliceTargetRole = "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"
)

// faultStack is the four components as separate processes, as an operator runs them: `idp
// serve`, `aws serve --config default --task-role …`, `mcp serve` with the ECS credential
// variables and the context proof secret, and `gateway serve --authorizer-from-env` in front.
// Each listens on an address fixed at the start, so that a component restarted where the
// others expect it is found again without restarting them.
type faultStack struct {
	owner                                       *testing.T // the stack's test: its processes live until it ends
	bin                                         string
	home, noFile                                string // the MCP server's HOME, and a path where no file is
	idpAddr, awsAddr, taskAddr, mcpAddr, gwAddr string
	taskPath, taskToken                         string
	secret                                      string
	issuer, mcpURL                              string // the IdP's issuer; the MCP URL clients call (the gateway's)
	awsData                                     string // the --data directory, "" for none
	idp, aws, mcp, gw                           *serveProcess
	mu                                          sync.Mutex
	started                                     []*serveProcess // every process, restarts included
	answers                                     []answer        // everything a client was answered
}

// startFaultStack starts the IdP, the AWS emulator (with --data awsData unless it is ""), the
// MCP server and the gateway, in that order (the gateway's authorizer discovers the IdP at start).
func startFaultStack(t *testing.T, bin, awsData string) *faultStack {
	t.Helper()
	s := &faultStack{owner: t, bin: bin, home: t.TempDir(), noFile: filepath.Join(t.TempDir(), "none"),
		idpAddr: freeAddr(t), awsAddr: freeAddr(t), taskAddr: freeAddr(t), mcpAddr: freeAddr(t), gwAddr: freeAddr(t),
		taskPath: "/v2/credentials/faults", taskToken: "tok-faults", secret: contextproof.NewSecret(), awsData: awsData}
	s.issuer = "http://" + s.idpAddr
	s.startIdP(t)
	s.startAWS(t, awsData)
	s.startMCP(t)
	store := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(store, []byte("mappings:\n  - sub: "+aliceSub+"\n    roleArn: "+aliceTargetRole+"\n    tags: {tenant: acme}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, authorizer.EnvPrefix) {
			env = append(env, kv)
		}
	}
	env = append(env, authorizer.EnvPrefix+"MODE=rest", authorizer.EnvPrefix+"ISSUER="+s.issuer,
		authorizer.EnvPrefix+"ROLE_STORE=file:"+store, authorizer.EnvPrefix+"CONTEXT_PROOF_SECRET="+s.secret)
	s.gw = s.start(t, env, "mcp ", "gateway", "serve", "--profile", "reference", "--addr", s.gwAddr, "--authorizer-from-env",
		"--integration-url", "http://"+s.mcpAddr, "--issuer", s.issuer)
	s.mcpURL = s.gw.require(t, "mcp ")
	return s
}

func (s *faultStack) start(t *testing.T, env []string, until string, args ...string) *serveProcess {
	t.Helper()
	p := startServeOwned(t, s.owner, s.bin, env, until, args...)
	s.mu.Lock()
	s.started = append(s.started, p)
	s.mu.Unlock()
	return p
}

// startIdP starts the mock IdP on its address: a new process has a new signing key.
func (s *faultStack) startIdP(t *testing.T) {
	t.Helper()
	s.idp = s.start(t, nil, "ready ", "idp", "serve", "--addr", s.idpAddr)
}

// startAWS starts the AWS emulator, seeded with the default fixture, with its task-role endpoint.
func (s *faultStack) startAWS(t *testing.T, data string) {
	t.Helper()
	args := []string{"aws", "serve", "--addr", s.awsAddr, "--config", "default", "--task-role", "ecsTaskRole",
		"--task-role-addr", s.taskAddr, "--task-role-path", s.taskPath, "--task-role-token", s.taskToken}
	if data != "" {
		args = append(args, "--data", data)
	}
	s.aws = s.start(t, nil, "ready ", args...)
}

// startMCP starts the MCP server with what it has on ECS: the container credentials variables
// and the context proof secret, nothing else from this process's environment.
func (s *faultStack) startMCP(t *testing.T) {
	t.Helper()
	env := []string{"AWS_ENDPOINT_URL=http://" + s.awsAddr, "AWS_REGION=us-east-1",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://" + s.taskAddr + s.taskPath, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + s.taskToken,
		"AWS_CONFIG_FILE=" + s.noFile, "AWS_SHARED_CREDENTIALS_FILE=" + s.noFile, "AWS_EC2_METADATA_DISABLED=true", "HOME=" + s.home,
		mcpserver.EnvContextProofSecret + "=" + s.secret}
	s.mcp = s.start(t, env, "ready ", "mcp", "serve", "--addr", s.mcpAddr, "--metrics-addr", "")
}

// kill ends p at once (SIGKILL: a crash; it ends a frozen process too).
func kill(t *testing.T, p *serveProcess) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("mcpsso %s still runs 10 s after SIGKILL", p.name)
	}
}

// freeze stops p (SIGSTOP): the kernel still accepts connections into its listener's backlog,
// but nothing answers. It stays frozen until thawed, or the stack's end.
func (s *faultStack) freeze(t *testing.T, p *serveProcess) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	s.owner.Cleanup(func() { _ = p.cmd.Process.Signal(syscall.SIGCONT) })
	waitStopped(t, p.cmd.Process.Pid)
}

// waitStopped returns once every thread of pid is stopped. kill(2) only queues SIGSTOP: a
// request sent right after it can still be served (CI saw the emulator answer an AssumeRole
// 3 ms after the signal), so the fault would not be in place for the step that needs it. Where
// there is no /proc (not Linux) it cannot tell and returns at once.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	if _, err := os.Stat(dir); err != nil {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		running, err := runningThreads(dir)
		if err != nil {
			t.Fatalf("reading the state of process %d: %v", pid, err)
		}
		if running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d: %d threads still not stopped 10 s after SIGSTOP", pid, running)
		}
		time.Sleep(time.Millisecond)
	}
}

// runningThreads counts the threads under a /proc/<pid>/task directory whose state is not
// stopped (T) or traced (t).
func runningThreads(dir string) (int, error) {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	running := 0
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		// The state is the field after the command name, which is in parentheses and may hold
		// spaces or parentheses itself.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) {
			return 0, fmt.Errorf("%s/stat: no state field in %q", task.Name(), stat)
		}
		if state := stat[i+2]; state != 'T' && state != 't' {
			running++
		}
	}
	return running, nil
}

func thaw(t *testing.T, p *serveProcess) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// logs is the tail of every process's stderr, for failure messages.
func (s *faultStack) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for i, p := range s.started {
		lines := strings.Split(strings.TrimRight(p.stderr.String(), "\n"), "\n")
		if len(lines) > 20 {
			lines = append([]string{fmt.Sprintf("(%d lines before)", len(lines)-20)}, lines[len(lines)-20:]...)
		}
		state := "running"
		select {
		case <-p.exited:
			state = "exited"
		default:
		}
		fmt.Fprintf(&b, "\n--- process %d: mcpsso %s (pid %d, %s), stderr:\n%s\n", i+1, p.name, p.cmd.Process.Pid, state, strings.Join(lines, "\n"))
	}
	return b.String()
}

// token gets a token for user from the IdP with `mcpsso token`, as a user would.
func (s *faultStack) token(t *testing.T, user string) string {
	t.Helper()
	tok, err := s.tryToken(t, user, 30*time.Second)
	if err != nil {
		t.Fatalf("mcpsso token --user %s: %v%s", user, err, s.logs())
	}
	return tok
}

func (s *faultStack) tryToken(t *testing.T, user string, within time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "token", "--user", user, "--issuer", s.issuer)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// answer is what a client got from the gateway for one tool call.
type answer struct {
	what    string // the call, for messages
	status  int
	header  http.Header
	body    string
	elapsed time.Duration
	text    string // the tool result's text, if the body is a JSON-RPC result
	isError bool   // the tool result's isError
}

func (a answer) String() string {
	return fmt.Sprintf("%s: HTTP %d after %s: %s", a.what, a.status, a.elapsed.Round(time.Millisecond), a.body)
}

// ok reports whether the tool call succeeded.
func (a answer) ok() bool { return a.status == http.StatusOK && !a.isError && a.text != "" }

// call sends tools/call for tool with arguments through the gateway, with token as bearer ("" for
// none), and records the answer for the stack's leak check. It may run on any goroutine.
func (s *faultStack) call(t *testing.T, token, tool string, args map[string]any) answer {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": args}})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.mcpURL, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	a := answer{what: tool}
	start := time.Now()
	// Longer than any deadline inside the stack, so that the stack's own answer comes first.
	resp, err := (&http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{}}).Do(req)
	if err != nil { // no answer at all: status 0 fails every check, with the error
		a.elapsed, a.body = time.Since(start), "no answer: "+err.Error()
		return a
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.elapsed, a.status, a.header, a.body = time.Since(start), resp.StatusCode, resp.Header, string(raw)
	payload := a.body
	if i := strings.Index(payload, "data: "); i >= 0 && !strings.HasPrefix(payload, "{") { // an SSE answer
		payload, _, _ = strings.Cut(payload[i+len("data: "):], "\n")
	}
	var rpc struct {
		Result struct {
			Content []struct{ Text string } `json:"content"`
			IsError bool                    `json:"isError"`
		} `json:"result"`
	}
	if json.Unmarshal([]byte(payload), &rpc) == nil && len(rpc.Result.Content) > 0 {
		a.text, a.isError = rpc.Result.Content[0].Text, rpc.Result.IsError
	}
	s.mu.Lock()
	s.answers = append(s.answers, a)
	s.mu.Unlock()
	return a
}

// until calls try every 100 ms until it returns true or within has passed; it returns how long
// that took and whether it happened.
func until(within time.Duration, try func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if try() {
			return time.Since(start), true
		}
		if time.Since(start) > within {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leaks lists what in a answers names an internal address: a component's host:port other than
// the gateway's and the IdP's (which clients are given), or the text of a transport error.
func (s *faultStack) leaks(a answer) []string {
	var found []string
	var all strings.Builder
	all.WriteString(a.body)
	for k, vs := range a.header {
		fmt.Fprintf(&all, "\n%s: %s", k, strings.Join(vs, ", "))
	}
	for _, internal := range []string{s.awsAddr, s.taskAddr, s.mcpAddr, "dial tcp", "connection refused", "i/o timeout", "connect:"} {
		if strings.Contains(all.String(), internal) {
			found = append(found, internal)
		}
	}
	// The body is the server's or the gateway's own text: no loopback address belongs there.
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		if strings.Contains(a.body, host) {
			found = append(found, host)
		}
	}
	return found
}

// holdsData reports whether an answer carries acme's data (the seeded objects' keys or content).
func holdsData(a answer) bool {
	return strings.Contains(a.body, "README.md") || strings.Contains(a.body, "2026-q3.csv") || strings.Contains(a.body, "quilt-tenant-acme")
}

// forgedToken is a well-formed access token for alice, signed with a key no JWKS holds, under
// a kid no JWKS holds: what an attacker can make, and what a token of a key the IdP has just
// rotated in looks like to an authorizer that has not refetched the JWKS.
func (s *faultStack) forgedToken(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "kid-no-jwks-holds"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"iss": s.issuer, "sub": aliceSub, "aud": "api://quilt-mcp", "iat": now, "nbf": now,
		"exp": now + 3600, "tenant": "acme", "token_use": "access", "email": "alice@acme.example", "client_id": "mcpsso-cli"})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// s3Callers are the callers of every S3 request the AWS emulators of the stack logged.
func (s *faultStack) s3Callers(t *testing.T) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var callers []string
	for _, p := range s.started {
		if p.name != "aws serve" {
			continue
		}
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var rec struct{ Msg, Service, Caller string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "aws request" && rec.Service == "s3" {
				callers = append(callers, rec.Caller)
			}
		}
	}
	slices.Sort(callers)
	return slices.Compact(callers)
}

// slowHeaders is a Slowloris client: it connects to addr and sends a request's header lines
// one every 500 ms, never ending them. It returns how long after its first byte the server
// closed the connection, or an error when ctx ends first.
func slowHeaders(ctx context.Context, addr string) (time.Duration, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: "+addr+"\r\n"); err != nil {
		return 0, err
	}
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, conn) // until the server closes (or answers and closes)
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case cut := <-closed:
			return cut, nil
		case <-ctx.Done():
			return 0, fmt.Errorf("still connected %s after its first byte: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-tick.C:
			_, _ = fmt.Fprintf(conn, "X-Slow-%d: 1\r\n", i) // a write error means it was cut: the read says when
		}
	}
}
