package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/sample"
	"github.com/mcpsso/mcpsso/internal/harness/sample/gosdkserver"
	"github.com/mcpsso/mcpsso/internal/harness/target"
	"github.com/mcpsso/mcpsso/internal/mcpcall"
)

// summarySpecs are the names of the specs the conform summary gives the status ("passed",
// "FAILED"), without the reason column.
func summarySpecs(out, status string) []string {
	columns := regexp.MustCompile(`\s{2,}`)
	var specs []string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, status+" "); ok {
			specs = append(specs, columns.Split(strings.TrimSpace(rest), 2)[0])
		}
	}
	return specs
}

// TestConformJudgesTheGoSDKSample is issue 18's proof with a server no one here shaped: the
// go-sdk sample (internal/harness/sample), reached only through its target file and the probes that map
// the suites' operations onto its own tools, passes conform; started with one deliberate
// defect, it fails exactly the specs listed for that defect. A listed pattern that no failed
// spec matches, or that a passed spec matches, fails the test, and so does a failed spec no
// pattern lists. Each row is a conform subprocess (Ginkgo runs once per process) against a
// deployment of its own in this process, the users' tokens preissued (the target file's token
// command runs a device grant, which polls for a second, per token).
func TestConformJudgesTheGoSDKSample(t *testing.T) {
	t.Parallel() // subprocesses of their own, on free ports
	bin := buildBinary(t)
	for _, tc := range []struct {
		defect gosdkserver.Defect
		// fails are patterns of the names of the specs the defect must fail, and only those.
		fails []string
	}{
		{defect: gosdkserver.NoDefect},
		{defect: gosdkserver.TenantFromURI, fails: []string{
			// The role is the bucket's tenant's: every cross-tenant read, write and list succeeds.
			`^Tenant isolation \[abac\] denies every user (reading an object in|writing an object to|listing) another tenant's bucket `,
			// Each of these ends by reading the other tenant's bucket, which succeeds whatever
			// the headers: the spec cannot tell the headers from the defect, and says what it saw.
			`^Spoofed gateway headers \[spoofing\] never change the gateway's decision: a user sending `,
			// Real clients, signed in as alice, check that bob's object is refused to her.
			`^Real MCP clients \[clients\] .*uses the tools as the user, and refreshes`,
		}},
		{defect: gosdkserver.TrustsForwardedIdentity, fails: []string{
			`^Spoofed gateway headers \[spoofing\] never change the gateway's decision: a user sending x-forwarded-user, x-auth-request-user, x-amzn-oidc-identity that claims another tenant`,
		}},
		{defect: gosdkserver.SkipsSignatureCheck, fails: []string{
			// RS256 tokens signed with the attacker's key are accepted: nothing checks the
			// signature. (HS256 forgeries are still refused: go-oidc parses only RS256 and none.)
			`^Attacks refused \[adversarial\] never fetch or trust a key the token names itself, refusing a token signed with the attacker's key and its (jku|x5u|jwk|x5c) `,
			`^Attacks refused \[adversarial\] refuse a token whose kid is an injection: the URL of the attacker's JWKS, signed with the attacker's key$`,
			`^Attacks refused \[adversarial\] answer a token signed with a key that is not the IdP's .*: a fresh key, under (a kid the IdP never published|the IdP's own kid)$`,
			// The signature is what binds the claims: any change under it is accepted.
			`^Attacks refused \[adversarial\] answer a token whose claims were changed under the IdP's signature `,
			// go-oidc still refuses a token with no signature part at all, and "None"/"NONE",
			// but with the check skipped an empty or left-over signature passes.
			`^Attacks refused \[adversarial\] answer a valid token with its signature stripped .*: header\.payload\. \(the signature part empty\)$`,
			`^Attacks refused \[adversarial\] answer an unsigned token .*: alg "none" with (an empty signature part|the original signature left in place)`,
		}},
		{defect: gosdkserver.SkipsSourceIdentity, fails: []string{
			`^Trust policies \[trust\] through the MCP server gives every mapped user an assumed-role session of their target role with their source identity `,
			`^Trust policies \[trust\] through the MCP server records each user's AssumeRole with their source identity in CloudTrail `,
			`^Observability \[observability\] records every AssumeRole made for a user in CloudTrail with the user's source identity `,
		}},
	} {
		t.Run(tc.defect.String(), func(t *testing.T) {
			t.Parallel() // each row has its own deployment and conform process
			var logs syncBuffer
			d, err := sample.Start(t.Context(), sample.WithDefect(tc.defect), sample.WithLogOutput(&logs, slog.LevelInfo))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := d.Close(); err != nil {
					t.Error(err)
				}
				if t.Failed() {
					t.Logf("the deployment's log:\n%s", logs.String())
				}
			})
			file := filepath.Join(t.TempDir(), "target.yaml")
			if err := os.WriteFile(file, d.TargetFile(bin, true), 0o644); err != nil {
				t.Fatal(err)
			}
			tokens, err := d.TokenEnv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			audit, err := d.AuditEnv()
			if err != nil {
				t.Fatal(err)
			}
			code, out := runConformBin(t, bin, append(tokens, audit...), "--target", file)
			if !strings.Contains(out, "target external") {
				t.Fatalf("conform did not run against the target file: exit %d\n%s", code, out)
			}
			failed, passed := summarySpecs(out, "FAILED"), summarySpecs(out, "passed")
			if len(passed) == 0 {
				t.Fatalf("no spec passed: exit %d\n%s", code, out)
			}
			wantCode := exitFailure
			if len(tc.fails) == 0 {
				wantCode = 0
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d", code, wantCode)
			}
			patterns := make([]*regexp.Regexp, len(tc.fails))
			for i, p := range tc.fails {
				patterns[i] = regexp.MustCompile(p)
				if !slices.ContainsFunc(failed, patterns[i].MatchString) {
					t.Errorf("no spec failed that %q lists", p)
				}
				for _, s := range passed {
					if patterns[i].MatchString(s) {
						t.Errorf("%q lists %q, which passed", p, s)
					}
				}
			}
			for _, s := range failed {
				if !slices.ContainsFunc(patterns, func(p *regexp.Regexp) bool { return p.MatchString(s) }) {
					t.Errorf("%q failed, which the defect %s does not list", s, tc.defect)
				}
			}
			if t.Failed() {
				t.Logf("conform's output:\n%s", out)
			}
		})
	}
}

// TestConformTierAuthOnTheGoSDKSample is the auth tier against a deployment whose tools the kit
// does not know (the sample's target file without its probes: the reference tool names it
// falls back to are not the sample's): the correct server passes, and one whose 401 names no
// resource_metadata fails under the requirement it breaks, named in the report.
func TestConformTierAuthOnTheGoSDKSample(t *testing.T) {
	t.Parallel() // subprocesses of their own, on free ports
	bin := buildBinary(t)
	for _, defect := range []gosdkserver.Defect{gosdkserver.NoDefect, gosdkserver.OmitsResourceMetadata} {
		t.Run(defect.String(), func(t *testing.T) {
			t.Parallel()
			d, err := sample.Start(t.Context(), sample.WithDefect(defect))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			withProbes := string(d.TargetFile(bin, true))
			i := strings.Index(withProbes, "\nprobes:")
			if i < 0 {
				t.Fatalf("the sample's target file has no probes: section:\n%s", withProbes)
			}
			file := filepath.Join(t.TempDir(), "target.yaml")
			if err := os.WriteFile(file, []byte(withProbes[:i+1]), 0o644); err != nil {
				t.Fatal(err)
			}
			tokens, err := d.TokenEnv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			code, out := runConformBin(t, bin, tokens, "--target", file, "--tier", "auth")
			if defect == gosdkserver.NoDefect {
				if code != 0 || strings.Contains(out, "FAILED") || !passedLine(out, "answers a request without a token with 401 and a WWW-Authenticate challenge naming the resource metadata") {
					t.Fatalf("the correct sample in the auth tier: exit %d\n%s", code, out)
				}
				return
			}
			const group = "== FAILED · A request without a token is answered 401 with a Bearer challenge whose resource_metadata serves the MCP URL's metadata [challenge]"
			if code != exitFailure || !strings.Contains(out, group) {
				t.Fatalf("a sample whose 401 names no resource_metadata: exit %d, want %d and the report to name the requirement %q\n%s", code, exitFailure, group, out)
			}
		})
	}
}

// TestSampleServeAsTheDocsShow runs `mcpsso sample serve --target-out` as docs/targets.md
// does: the target file it writes loads, its token command gets a token from the sample's IdP
// that the sample accepts (alice acts as her tenant's role under her own source identity), a
// user without a tenant is refused, and SIGINT stops it.
func TestSampleServeAsTheDocsShow(t *testing.T) {
	t.Parallel() // a subprocess of its own, on free ports
	bin := buildBinary(t)
	file := filepath.Join(t.TempDir(), "target.yaml")
	p := startServe(t, bin, nil, "target ", "sample", "serve", "--port-base", fmt.Sprint(freePortBase(t)), "--target-out", file)
	mcpURL := p.require(t, "ready ")
	f, err := target.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if f.MCPURL != mcpURL || f.Probes == nil || f.Probes.Whoami == nil || f.Probes.Whoami.Tool != "identity" {
		t.Fatalf("the target file names %s, the sample serves %s; probes %+v", f.MCPURL, mcpURL, f.Probes)
	}
	token := func(user string) string {
		out, err := exec.Command("sh", "-c", strings.ReplaceAll(f.Tokens.Command, "{user}", user)).Output()
		if err != nil {
			t.Fatalf("the target file's token command for %s: %v", user, err)
		}
		return strings.TrimSpace(string(out))
	}
	ctx := t.Context()
	c, err := mcpcall.Connect(ctx, mcpURL, map[string]string{"Authorization": "Bearer " + token("alice")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	text, isError, err := mcpcall.CallTool(ctx, c, "identity", nil)
	if err != nil || isError {
		t.Fatalf("identity as alice: %v %s", err, text)
	}
	var id gosdkserver.Identity
	if err := json.Unmarshal([]byte(text), &id); err != nil {
		t.Fatalf("identity's answer %s: %v", text, err)
	}
	if !strings.Contains(id.Caller.ARN, ":assumed-role/quilt-mcp-target-acme/") || id.Session.SourceIdentity != "usr-alice@acme.example" || id.Session.Tenant != "acme" {
		t.Errorf("identity as alice: %+v", id)
	}
	if status := postWhoami(t, mcpURL, token("carol")); status != http.StatusForbidden {
		t.Errorf("carol, who has no tenant: HTTP %d, want 403", status)
	}
	p.interrupt(t)
}
