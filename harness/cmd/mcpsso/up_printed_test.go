package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/modelcontextprotocol/go-sdk/auth"
	gosdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// printedSnippets reads the snippets up printed: a line ending with ":" that is not indented,
// then the lines under it indented by two spaces (the indentation taken off).
func printedSnippets(lines []string) []snippet {
	var out []snippet
	for i := 0; i < len(lines); i++ {
		title, ok := strings.CutSuffix(lines[i], ":")
		if !ok || strings.HasPrefix(title, " ") || i+1 == len(lines) || !strings.HasPrefix(lines[i+1], "  ") {
			continue
		}
		s := snippet{title: title}
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  ") {
			i++
			s.lines = append(s.lines, strings.TrimPrefix(lines[i], "  "))
		}
		out = append(out, s)
	}
	return out
}

func (s snippet) text() string { return strings.Join(s.lines, "\n") }

// TestUpPrintsCommandsThatWork runs every command and configuration `mcpsso up` prints, as
// printed: the token command (with mcpsso on PATH, as installed), then the curl call and the
// MCP Inspector CLI with the $TOKEN it set, the MCP client configuration in a spec-following
// client that logs in by itself, and the AWS administrator's environment in an AWS SDK
// program. A snippet up prints that this test does not know fails it.
func TestUpPrintsCommandsThatWork(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	p := startUp(t, bin, "--port-base", fmt.Sprint(freePortBase(t)))
	printed := printedSnippets(p.lines)
	if len(printed) == 0 {
		t.Fatalf("no snippets in up's output:\n%s", strings.Join(p.lines, "\n"))
	}
	var tokenCommand string
	for _, s := range printed {
		if strings.HasPrefix(s.text(), "TOKEN=$(") {
			tokenCommand = s.text()
		}
	}
	if tokenCommand == "" {
		t.Fatalf("up prints no token command:\n%s", strings.Join(p.lines, "\n"))
	}
	// The shell a user pastes into: mcpsso on PATH, no AWS settings of this machine's.
	shell := func(t *testing.T, script string, extraEnv ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
		cmd.Dir = t.TempDir() // a directory of no project: no package.json above it
		cmd.Env = append(userEnv(filepath.Dir(bin)), extraEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v running, as printed:\n%s\n--- output:\n%s\n--- up's log:\n%s", err, script, out, p.stderr.String())
		}
		return string(out)
	}

	for _, s := range printed {
		t.Run(s.title, func(t *testing.T) {
			text := s.text()
			switch {
			case strings.HasPrefix(text, "TOKEN=$("):
				if out := shell(t, text+"\nprintf '%s' \"$TOKEN\""); strings.Count(out, ".") != 2 {
					t.Errorf("$TOKEN is not a JWT: %q", out)
				}
			case strings.HasPrefix(text, "curl "):
				if out := shell(t, tokenCommand+"\n"+text); !strings.Contains(out, "assumed-role/quilt-mcp-target-acme/") {
					t.Errorf("curl's answer is not alice's whoami:\n%s", out)
				}
			case strings.HasPrefix(text, "npx "):
				requireNode(t)
				if out := shell(t, tokenCommand+"\n"+text); !strings.Contains(out, "quilt-tenant-acme") || !strings.Contains(out, "README.md") {
					t.Errorf("the Inspector CLI's answer is not alice's list_objects:\n%s", out)
				}
			case strings.HasPrefix(text, "{"):
				clientFromConfiguration(t, text, p.stderr.String)
			case strings.HasPrefix(text, "export AWS_") && strings.Contains(text, "AWS_CONTAINER_CREDENTIALS_FULL_URI="):
				out := shell(t, text+"\nexec \"$MCPSSO_TEST_BINARY\"", "MCPSSO_TEST_BINARY="+os.Args[0], envAWSHelper+"=caller")
				if !strings.Contains(out, "caller arn:aws:sts::111122223333:assumed-role/ecsTaskRole/") {
					t.Errorf("an AWS SDK program in that environment is not the task role:\n%s", out)
				}
			case strings.HasPrefix(text, "export AWS_"):
				out := shell(t, text+"\nexec \"$MCPSSO_TEST_BINARY\"", "MCPSSO_TEST_BINARY="+os.Args[0], envAWSHelper+"=1")
				if !strings.Contains(out, "caller arn:aws:iam::111122223333:") || !strings.Contains(out, "bucket quilt-tenant-acme") {
					t.Errorf("an AWS SDK program in that environment:\n%s", out)
				}
			default:
				t.Errorf("up prints a snippet no test runs; run it here:\n%s", text)
			}
		})
	}
}

// userEnv is this process's environment as a user's shell would have it after installing
// mcpsso: binDir first on PATH, and no AWS variables (the printed ones take precedence over
// any shared AWS config file anyway).
func userEnv(binDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH":
			env = append(env, "PATH="+binDir+string(os.PathListSeparator)+v)
		case strings.HasPrefix(k, "AWS_"), k == envAWSHelper:
		default:
			env = append(env, kv)
		}
	}
	return env
}

// requireNode skips the test without npx, unless CI requires Node.js.
func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("npx"); err != nil {
		if os.Getenv(envRequireNode) == "1" {
			t.Fatalf("npx is not on PATH and %s=1: the Node.js tests must run", envRequireNode)
		}
		t.Skipf("npx is not on PATH (Node.js): cannot run the MCP Inspector CLI (set %s=1 to fail instead)", envRequireNode)
	}
}

// clientFromConfiguration gives the printed client configuration to the official Go SDK's
// client, which finds the IdP from the 401 and logs in with PKCE: as the public client
// mcpsso-cli, and as a client that registers itself (RFC 7591), as a client configured with
// nothing else does. The browser step picks alice on the mock IdP's login page.
func clientFromConfiguration(t *testing.T, configuration string, upLog func() string) {
	var cfg struct {
		MCPServers map[string]struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"mcpServers"`
	}
	dec := json.NewDecoder(strings.NewReader(configuration))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil || len(cfg.MCPServers) != 1 {
		t.Fatalf("not one MCP server's configuration: %v\n%s", err, configuration)
	}
	for name, server := range cfg.MCPServers {
		if server.Type != "http" {
			t.Fatalf("server %s: type %q, want http (Streamable HTTP)", name, server.Type)
		}
		const redirect = "http://127.0.0.1:8976/callback" // not listened on: the code is read from the redirect
		for _, registration := range []struct {
			name string
			set  func(*auth.AuthorizationCodeHandlerConfig)
		}{
			{"as the public client mcpsso-cli", func(c *auth.AuthorizationCodeHandlerConfig) {
				c.PreregisteredClient = &oauthex.ClientCredentials{ClientID: mockidp.PublicClientID}
			}},
			{"registering itself", func(c *auth.AuthorizationCodeHandlerConfig) {
				c.DynamicClientRegistrationConfig = &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
					RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none", ClientName: "mcpsso up test"}}
			}},
		} {
			t.Run(registration.name, func(t *testing.T) {
				hc := &auth.AuthorizationCodeHandlerConfig{RedirectURL: redirect, AuthorizationCodeFetcher: loginAs("alice")}
				registration.set(hc)
				h, err := auth.NewAuthorizationCodeHandler(hc)
				if err != nil {
					t.Fatal(err)
				}
				ctx := t.Context()
				session, err := gosdk.NewClient(&gosdk.Implementation{Name: "mcpsso-up-test", Version: "1"}, nil).
					Connect(ctx, &gosdk.StreamableClientTransport{Endpoint: server.URL, OAuthHandler: h}, nil)
				if err != nil {
					t.Fatalf("connect to %s: %v\n--- up's log:\n%s", server.URL, err, upLog())
				}
				defer session.Close()
				res, err := session.CallTool(ctx, &gosdk.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
				if err != nil || res.IsError || len(res.Content) == 0 {
					t.Fatalf("whoami: %v %+v", err, res)
				}
				if text, _ := res.Content[0].(*gosdk.TextContent); text == nil || !strings.Contains(text.Text, "assumed-role/quilt-mcp-target-acme/") {
					t.Errorf("whoami is not alice's: %+v", res.Content[0])
				}
			})
		}
	}
}

// loginAs is the browser step of the authorization code flow: open the authorization URL,
// choose user on the mock IdP's login page (login_hint does that without a page), and read the
// code from the redirect back to the client.
func loginAs(user string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		u, err := url.Parse(args.URL)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("login_hint", user)
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Query().Get("code") == "" {
			return nil, fmt.Errorf("the authorization endpoint answered %d without a code: Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		return &auth.AuthorizationResult{Code: back.Query().Get("code"), State: back.Query().Get("state"), Iss: back.Query().Get("iss")}, nil
	}
}

// envAWSHelper makes the test binary, started by a printed shell line, act as an AWS SDK
// program in that shell's environment (TestMain): it prints the caller and the buckets, or
// with the value "caller" only the caller.
const envAWSHelper = "MCPSSO_TEST_AWS_ADMIN_HELPER"

func awsAdminHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var who *sts.GetCallerIdentityOutput
		if who, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			fmt.Println("caller", *who.Arn)
			if os.Getenv(envAWSHelper) == "caller" {
				return 0
			}
			var buckets *s3.ListBucketsOutput
			if buckets, err = s3.NewFromConfig(cfg).ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
				for _, b := range buckets.Buckets {
					fmt.Println("bucket", *b.Name)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestTheUpDocShowsWhatUpPrints: docs/up.md, before its first subsection, shows every command
// and configuration up prints, as up prints them on its default ports (title as a comment), so a
// change to one is a change to the other.
func TestTheUpDocShowsWhatUpPrints(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "up.md"))
	if err != nil {
		t.Fatal(err)
	}
	opening, _, _ := strings.Cut(string(doc), "\n## ")
	if want := upSnippets(defaultUpURLs()).script(); !strings.Contains(opening, "```sh\n"+want+"```\n") {
		t.Errorf("docs/up.md does not show, before its first subsection, as up prints them (titles as comments):\n%s", want)
	}
	if !strings.Contains(string(doc), "--allowed-origin") {
		t.Error("docs/up.md does not explain --allowed-origin")
	}
}
