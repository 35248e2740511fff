package sample

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/mcpsso/mcpsso/internal/harness/sample/gosdkserver"
	"github.com/mcpsso/mcpsso/internal/harness/target"
)

// TestTheShippedTargetFileIsTheDefaultDeployments: target.yaml is what RenderTargetFile makes
// for `mcpsso sample serve` on its default ports, and it is a valid target file whose probes
// name the sample's tools; so is the preissued-token variant.
func TestTheShippedTargetFileIsTheDefaultDeployments(t *testing.T) {
	if want := RenderTargetFile(DefaultTargetParams()); !bytes.Equal(ShippedTargetFile, want) {
		t.Errorf("target.yaml is not the default rendering; it should be:\n%s", want)
	}
	preissued := DefaultTargetParams()
	preissued.TokenEnv = true
	for name, data := range map[string][]byte{"target.yaml": ShippedTargetFile, "the preissued variant": RenderTargetFile(preissued)} {
		f, err := target.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		p := f.Probes
		if p == nil || p.Whoami == nil || p.Read == nil || p.List == nil || p.Write == nil || p.Delete == nil {
			t.Errorf("%s does not map every operation: %+v", name, p)
			continue
		}
		for op, tool := range map[string]string{p.Whoami.Tool: "identity", p.Read.Tool: "read_file", p.List.Tool: "search", p.Write.Tool: "write_file", p.Delete.Tool: "delete_file"} {
			if op != tool {
				t.Errorf("%s maps an operation onto %s, want %s", name, op, tool)
			}
		}
		if len(f.Users) != len(TargetUsers) {
			t.Errorf("%s lists %d users, TargetUsers %d", name, len(f.Users), len(TargetUsers))
		}
	}
}

// TestTheDocsShowTheShippedTargetFile: docs/targets.md's go-sdk sample section quotes
// target.yaml as it is.
func TestTheDocsShowTheShippedTargetFile(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "targets.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, append([]byte("```yaml\n"), append(ShippedTargetFile, "```"...)...)) {
		t.Errorf("docs/targets.md does not quote internal/harness/sample/target.yaml as it is; paste it:\n%s", ShippedTargetFile)
	}
}

// TestOnlyTheSkipsSourceIdentityDeploymentTrustsNoSourceIdentity: the target roles' trust
// policy requires a usr- source identity, but for the defect whose server sets none.
func TestOnlyTheSkipsSourceIdentityDeploymentTrustsNoSourceIdentity(t *testing.T) {
	for _, defect := range []gosdkserver.Defect{gosdkserver.NoDefect, gosdkserver.SkipsSourceIdentity} {
		d, err := Start(t.Context(), WithDefect(defect))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := d.AdminAWSConfig(d.Fixture().DeploymentAccount())
		if err != nil {
			t.Fatal(err)
		}
		out, err := iam.NewFromConfig(cfg).GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("quilt-mcp-target-acme")})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(doc)); err != nil {
			t.Fatal(err)
		}
		trust := compact.String()
		requires := strings.Contains(trust, `"sts:SourceIdentity"`)
		if requires != (defect != gosdkserver.SkipsSourceIdentity) || !strings.Contains(trust, `"aws:RequestTag/tenant":"acme"`) {
			t.Errorf("defect %s: the trust policy of quilt-mcp-target-acme: %s", defect, trust)
		}
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}
}
