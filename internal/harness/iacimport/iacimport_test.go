package iacimport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importFile(t *testing.T, path string, o Options) (*Result, *fixture.Fixture) {
	t.Helper()
	res, err := Import(read(t, path), o)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f, err := fixture.Parse(res.YAML, "")
	if err != nil {
		t.Fatalf("%s: the imported fixture does not parse: %v\n%s", path, err, res.YAML)
	}
	return res, f
}

func role(t *testing.T, f *fixture.Fixture, name string) fixture.Role {
	t.Helper()
	for _, r := range f.Roles {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no role %s in the fixture", name)
	return fixture.Role{}
}

func bucket(t *testing.T, f *fixture.Fixture, name string) fixture.Bucket {
	t.Helper()
	for _, b := range f.Buckets {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no bucket %s in the fixture", name)
	return fixture.Bucket{}
}

// TestImportsTheTerraformPlans reads every committed plan: the links known only after apply
// (a bucket policy's bucket, an attachment's policy ARN, a role policy's role id) are followed
// through the plan's configuration, and every object names its Terraform address.
func TestImportsTheTerraformPlans(t *testing.T) {
	plans, _ := filepath.Glob("testdata/terraform/plans/*.json")
	if len(plans) < 6 {
		t.Fatalf("want the six variants' plans, found %v", plans)
	}
	for _, p := range plans {
		t.Run(filepath.Base(p), func(t *testing.T) {
			res, f := importFile(t, p, Options{})
			if f.TaskRole != "ecsTaskRole" || len(f.Mappings) != 3 || len(f.Tenants) != 2 {
				t.Fatalf("mapping: task role %q, %d mappings, tenants %v", f.TaskRole, len(f.Mappings), f.TenantNames())
			}
			task := role(t, f, "ecsTaskRole")
			if task.Source != "module.mcp.aws_iam_role.task" || len(task.Inline) != 1 || task.Inline[0].Source != "module.mcp.aws_iam_role_policy.task_assume_targets" {
				t.Errorf("task role: source %q, inline %+v", task.Source, task.Inline)
			}
			acme := role(t, f, "quilt-mcp-target-acme")
			if acme.Source != `module.mcp.aws_iam_role.target["acme"]` || acme.Trust.Source != acme.Source {
				t.Errorf("target role acme: source %q, trust source %q", acme.Source, acme.Trust.Source)
			}
			tutorial := strings.HasPrefix(filepath.Base(p), "tutorial")
			if tutorial != (len(acme.Inline) == 0) {
				t.Errorf("target role acme: %d policies (the tutorial gives none, the others the managed tenant-data policy)", len(acme.Inline))
			} else if !tutorial && acme.Inline[0].Source != "module.mcp.aws_iam_policy.tenant_data[0]" {
				t.Errorf("the attached policy's source: %q", acme.Inline[0].Source)
			}
			b := bucket(t, f, "quilt-tenant-globex")
			if b.Source != `module.mcp.aws_s3_bucket.tenant["globex"]` || b.Policy == nil || b.Policy.Source != `module.mcp.aws_s3_bucket_policy.tenant["globex"]` {
				t.Errorf("bucket globex: %+v", b)
			}
			if !strings.Contains(string(res.YAML), "\n  # module.mcp.aws_s3_bucket_policy.tenant[\"globex\"]\n") && !strings.Contains(string(res.YAML), "    # module.mcp.aws_s3_bucket_policy.tenant[\"globex\"]\n") {
				t.Errorf("no comment naming the bucket policy's address:\n%s", res.YAML)
			}
			for _, want := range []string{"task role ecsTaskRole (module.mcp.aws_iam_role.task): the only role whose trust policy lets ecs-tasks.amazonaws.com assume it",
				`bucket of tenant acme: quilt-tenant-acme (module.mcp.aws_s3_bucket.tenant["acme"])`, `tenant tag key "tenant"`} {
				if !slices.ContainsFunc(res.Inferred, func(s string) bool { return strings.Contains(s, want) }) {
					t.Errorf("inferred lacks %q:\n%s", want, strings.Join(res.Inferred, "\n"))
				}
			}
		})
	}
}

func TestImportsACloudFormationTemplateInYAML(t *testing.T) {
	res, f := importFile(t, "testdata/cloudformation/corrected.yaml", Options{})
	acme := role(t, f, "quilt-mcp-target-acme")
	var trust map[string]any
	raw, _ := f.Document(acme.Trust, "reference", f.DeploymentAccount())
	if err := json.Unmarshal(raw, &trust); err != nil {
		t.Fatal(err)
	}
	for _, st := range statements(trust) {
		if p := principals(st, "AWS"); !slices.Equal(p, []string{"arn:aws:iam::111122223333:role/ecsTaskRole"}) {
			t.Errorf("!GetAtt / !Join of the task role's ARN gave %v", p)
		}
	}
	if len(acme.Inline) != 1 || acme.Inline[0].Source != "TenantData" {
		t.Fatalf("the managed policy attached through its Roles: %+v", acme.Inline)
	}
	doc, _ := f.Document(acme.Inline[0].PolicyRef, "reference", f.DeploymentAccount())
	if !strings.Contains(string(doc), `"arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"`) {
		t.Errorf("!Sub with a parameter default and ${!…}: %s", doc)
	}
	b := bucket(t, f, "quilt-tenant-acme")
	pol, _ := f.Document(*b.Policy, "reference", f.DeploymentAccount())
	if b.Policy.Source != "BucketAcmePolicy" || !strings.Contains(string(pol), `"arn:aws:s3:::quilt-tenant-acme/*"`) || !strings.Contains(string(pol), `"aws:PrincipalAccount":"111122223333"`) {
		t.Errorf("bucket policy %s: %s", b.Policy.Source, pol)
	}
	if !strings.Contains(res.Inferred[0], "AWS::AccountId, unmapped") {
		t.Errorf("the account line does not say it is AWS::AccountId's default: %q", res.Inferred[0])
	}
	// Mapped, AWS::AccountId is what the values file says.
	res, f = importFile(t, "testdata/cloudformation/corrected.yaml", Options{Values: &Values{Values: map[string]string{"AWS::AccountId": "210987654321"}}})
	if f.DeploymentAccount() != "210987654321" || !strings.Contains(string(res.YAML), "arn:aws:iam::210987654321:role/ecsTaskRole") {
		t.Errorf("AWS::AccountId mapped: account %s", f.DeploymentAccount())
	}
}

// template is a small template around one role whose trust principal is expr.
func template(principal, extra string) string {
	return `{"Parameters":{"NoDefault":{"Type":"String"}},"Resources":{
"Task":{"Type":"AWS::IAM::Role","Properties":{"RoleName":"task","AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}}},
"Target":{"Type":"AWS::IAM::Role","Properties":{"RoleName":"target-acme","AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":` + principal + `},"Action":"sts:AssumeRole"}]}}}` + extra + `}}`
}

func TestUnresolvableExpressionsNameResourcePropertyAndExpression(t *testing.T) {
	for _, c := range []struct {
		name, principal, extra string
		want                   []string
	}{
		{"ImportValue", `{"Fn::ImportValue":"shared-task-role"}`, "",
			[]string{"resource Target (AWS::IAM::Role), property AssumeRolePolicyDocument", `{"Fn::ImportValue":"shared-task-role"}`, "Fn::ImportValue is not evaluated"}},
		{"parameter without default", `{"Fn::Sub":"arn:aws:iam::${NoDefault}:role/task"}`, "",
			[]string{"resource Target (AWS::IAM::Role), property AssumeRolePolicyDocument", `{"Ref":"NoDefault"}`, "parameter NoDefault has no default"}},
		{"policy variable unescaped in Fn::Sub", `{"Fn::Sub":"arn:aws:iam::${aws:PrincipalTag/x}:role/task"}`, "",
			[]string{"resource Target", "${!aws:PrincipalTag/x}"}},
		{"attribute known after deploy", `{"Fn::GetAtt":["Task","RoleId"]}`, "",
			[]string{"resource Target (AWS::IAM::Role), property AssumeRolePolicyDocument", `{"Fn::GetAtt":["Task","RoleId"]}`, `map "Task.RoleId" in the values file`}},
		{"unknown resource", `{"Ref":"Nowhere"}`, "",
			[]string{`{"Ref":"Nowhere"}`, "neither a parameter, a pseudo parameter nor a resource"}},
		{"generated name", `{"Fn::GetAtt":["Anon","Arn"]}`, `,"Anon":{"Type":"AWS::IAM::Role","Properties":{"AssumeRolePolicyDocument":{"Statement":[]}}}`,
			[]string{"resource Anon (AWS::IAM::Role), property RoleName", "CloudFormation generates one at deploy time"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Import([]byte(template(c.principal, c.extra)), Options{})
			if err == nil {
				t.Fatal("imported")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestPlaceholdersOfValuesKnownAfterApply makes a role's name unknown in a real plan (as
// name_prefix would): the import names the placeholder, and a values file resolves it.
func TestPlaceholdersOfValuesKnownAfterApply(t *testing.T) {
	var plan map[string]any
	if err := json.Unmarshal(read(t, "testdata/terraform/plans/corrected.json"), &plan); err != nil {
		t.Fatal(err)
	}
	const addr = `module.mcp.aws_iam_role.target["globex"]`
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		rs, _ := m["resources"].([]any)
		for _, r := range rs {
			if r := r.(map[string]any); r["address"] == addr {
				delete(r["values"].(map[string]any), "name")
			}
		}
		if cs, ok := m["child_modules"].([]any); ok {
			for _, c := range cs {
				walk(c.(map[string]any))
			}
		}
	}
	walk(plan["planned_values"].(map[string]any)["root_module"].(map[string]any))
	for _, rc := range plan["resource_changes"].([]any) {
		if rc := rc.(map[string]any); rc["address"] == addr {
			rc["change"].(map[string]any)["after_unknown"].(map[string]any)["name"] = true
		}
	}
	data, _ := json.Marshal(plan)
	_, err := Import(data, Options{})
	if err == nil || !strings.Contains(err.Error(), addr+".name: is known only after apply") || !strings.Contains(err.Error(), "values:\n  \""+strings.ReplaceAll(addr, `"`, `\"`)+".name\"") {
		t.Fatalf("the error does not name the placeholder and a values file for it: %v", err)
	}
	dir := t.TempDir()
	vf := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(vf, []byte("values:\n  '"+addr+".name': quilt-mcp-target-globex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := LoadValues(vf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(data, Options{Values: v})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.YAML), `- name: "quilt-mcp-target-globex"`) {
		t.Errorf("the mapped name is not the role's:\n%s", res.YAML)
	}
	// A value nothing asks for is a mistake, not noise.
	v.Values["module.mcp.aws_iam_role.typo.name"] = "x"
	if _, err := Import(data, Options{Values: v}); err == nil || !strings.Contains(err.Error(), "module.mcp.aws_iam_role.typo.name asked for by nothing") {
		t.Errorf("an unused value: %v", err)
	}
}

func TestValuesFileIsStrict(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"unknown field": "values: {a: b}\nextra: 1\n",
		"empty value":   "values: {a: ''}\n",
	} {
		p := filepath.Join(dir, "v.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadValues(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestOverridesAndAmbiguities(t *testing.T) {
	plan := read(t, "testdata/terraform/plans/corrected.json")
	for name, c := range map[string]struct {
		o    Options
		want string
	}{
		"unknown task role":   {Options{TaskRole: "nope"}, "--task-role nope: no such role"},
		"task role as target": {Options{Targets: map[string]string{"ecsTaskRole": "acme", "quilt-mcp-target-acme": "acme"}}, "tenant acme has two target roles"},
		"unknown bucket":      {Options{Buckets: map[string]string{"nope": "acme"}}, "--bucket nope=acme: no such bucket"},
		"other tag key":       {Options{TagKey: "org"}, `the suites tag sessions with the key "tenant"`},
		"bad account":         {Options{Account: "12"}, "--account \"12\": an AWS account ID is 12 digits"},
	} {
		if _, err := Import(plan, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
	res, err := Import(plan, Options{Targets: map[string]string{"quilt-mcp-target-acme": "acme"}, Buckets: map[string]string{"quilt-tenant-acme": "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Inferred, `target role of tenant acme: quilt-mcp-target-acme (module.mcp.aws_iam_role.target["acme"]), given (--target)`) {
		t.Errorf("the override is not reported as given:\n%s", strings.Join(res.Inferred, "\n"))
	}
	if _, err := Import([]byte(`{"hello":"world"}`), Options{}); err == nil || !strings.Contains(err.Error(), "neither a Terraform plan") {
		t.Errorf("neither format: %v", err)
	}
}

// TestPoliciesFromOutsideTheInput: an AWS managed policy on a role the suites exercise is an
// error (what it grants is unknown); on another role (an ECS execution role) a note.
func TestPoliciesFromOutsideTheInput(t *testing.T) {
	const managed = `"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"`
	exec := `,"Exec":{"Type":"AWS::IAM::Role","Properties":{"RoleName":"exec","ManagedPolicyArns":[` + managed + `],"AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}}}` +
		`,"Bucket":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":"acme-data"}}`
	o := Options{TaskRole: "task", Targets: map[string]string{"target-acme": "acme"}, TagKey: "tenant"}
	res, err := Import([]byte(template(`{"Fn::GetAtt":["Task","Arn"]}`, exec)), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool {
		return strings.Contains(n, "Exec ManagedPolicyArns: attaches "+strings.Trim(managed, `"`)) && strings.Contains(n, "left out")
	}) {
		t.Errorf("no note of the execution role's managed policy: %v", res.Notes)
	}
	o.TaskRole = "exec"
	o.Targets = map[string]string{"target-acme": "acme"}
	if _, err := Import([]byte(template(`{"Fn::GetAtt":["Exec","Arn"]}`, exec)), o); err == nil || !strings.Contains(err.Error(), "leaving it out of the task role could hide what it grants") {
		t.Errorf("an AWS managed policy on the task role: %v", err)
	}
	if _, err := Import([]byte(template(`{"Fn::GetAtt":["Task","Arn"]}`, exec)), Options{}); err == nil || !strings.Contains(err.Error(), "several roles trust ecs-tasks.amazonaws.com") {
		t.Errorf("two roles ECS may assume: %v", err)
	}
}

func FuzzImport(f *testing.F) {
	f.Add([]byte(template(`{"Fn::GetAtt":["Task","Arn"]}`, "")))
	f.Add([]byte("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: !Sub '${AWS::AccountId}'}\n"))
	f.Add([]byte("key: !0000 00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Import(data, Options{})
		if err == nil {
			if _, err := fixture.Parse(res.YAML, ""); err != nil {
				t.Fatalf("Import returned a fixture that does not parse: %v", err)
			}
		}
	})
}

func TestASelfReferenceIsAnError(t *testing.T) {
	tmpl := `{"Resources":{"R":{"Type":"AWS::IAM::Role","Properties":{"RoleName":{"Fn::Sub":"${R.Arn}"},"AssumeRolePolicyDocument":{"Statement":[]}}}}}`
	if _, err := Import([]byte(tmpl), Options{}); err == nil || !strings.Contains(err.Error(), "refers to itself") {
		t.Errorf("a role named after its own ARN: %v", err)
	}
}
