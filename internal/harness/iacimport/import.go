package iacimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
)

// Options override what the importer would infer.
type Options struct {
	// TaskRole is the MCP server's task role by name.
	TaskRole string
	// Targets maps target role names to their tenants.
	Targets map[string]string
	// Buckets maps bucket names to their tenants.
	Buckets map[string]string
	// TagKey is the session tag key that carries the tenant.
	TagKey string
	// Account is the deployment's account ID.
	Account string
	// Values maps the placeholders of values known only after apply.
	Values *Values
}

// Result is an imported fixture with what was inferred, and why.
type Result struct {
	// YAML is the fixture, already validated by fixture.Parse.
	YAML []byte
	// Inferred says, one line each, what the importer decided and why.
	Inferred []string
	// Notes are what the fixture leaves out.
	Notes []string
	Model *Model
}

// AttackerAccount is the second account of an imported fixture, whose role may tag its own
// sessions with anything: the suites use it to show a bucket policy that trusts any account.
const AttackerAccount = "444455556666"

// Import reads a Terraform plan (JSON) or a CloudFormation template (JSON or YAML) and returns
// the fixture of the deployment it describes.
func Import(data []byte, o Options) (*Result, error) {
	m, err := Parse(data, o.Values, o.Account)
	if err != nil {
		return nil, err
	}
	res, err := build(m, o)
	if err != nil {
		return nil, err
	}
	if unused := o.Values.unused(); len(unused) > 0 {
		return nil, fmt.Errorf("values file: %s asked for by nothing in the input (a misspelt name?)", strings.Join(unused, ", "))
	}
	return res, nil
}

// Parse reads the input into a Model without mapping it onto the pattern; account, when given,
// is what a template's AWS::AccountId stands for unless values maps it.
func Parse(data []byte, values *Values, account string) (*Model, error) {
	doc, err := parseTemplate(data)
	if err != nil {
		return nil, fmt.Errorf("input: %v (want a Terraform plan from `terraform show -json`, or a CloudFormation template)", err)
	}
	switch {
	case isTerraformPlan(doc):
		return importTerraform(data, values)
	case isTemplate(doc):
		return importCloudFormation(doc, values, account)
	}
	return nil, errors.New("input: neither a Terraform plan in JSON (no format_version and planned_values: make one with `terraform plan -out=P && terraform show -json P`) nor a CloudFormation template (no Resources)")
}

var (
	arnAccount = regexp.MustCompile(`arn:aws:(?:iam|sts)::(\d{12}):`)
	accountID  = regexp.MustCompile(`^\d{12}$`)
)

type mapping struct {
	acct     string
	task     *Role
	targets  []*Role // sorted by tenant
	tenantOf map[*Role]string
	buckets  map[string]*Bucket // tenant -> bucket
	tagKey   string
	tenants  []string
	inferred []string
}

func (p *mapping) say(format string, args ...any) {
	p.inferred = append(p.inferred, fmt.Sprintf(format, args...))
}

func allDocs(m *Model) []*Doc {
	var out []*Doc
	for _, r := range m.Roles {
		if r.Trust != nil {
			out = append(out, r.Trust)
		}
		out = append(out, r.Policies...)
	}
	for _, b := range m.Buckets {
		if b.Policy != nil {
			out = append(out, b.Policy)
		}
	}
	return out
}

func docText(d *Doc) string {
	b, _ := json.Marshal(d.JSON)
	return string(b)
}

func roleARN(acct string, r *Role) string {
	path := r.Path
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + acct + ":role" + path + r.Name
}

func build(m *Model, o Options) (*Result, error) {
	if len(m.Roles) == 0 {
		return nil, errors.New("the input creates no IAM role: nothing to test (the importer reads aws_iam_role / AWS::IAM::Role and the policies around them)")
	}
	p := &mapping{tenantOf: map[*Role]string{}, buckets: map[string]*Bucket{}}
	steps := []func(*Model, Options) error{p.account, p.taskRole, p.tagKeyOf, p.targetRoles, p.tenantBuckets}
	for _, step := range steps {
		if err := step(m, o); err != nil {
			return nil, err
		}
	}
	// A policy from outside the input on a role the suites exercise could grant what they
	// check is denied, so it is an error there; elsewhere (an ECS execution role's AWS managed
	// policy) it is left out with a note.
	for _, r := range m.Roles {
		if len(r.Foreign) == 0 {
			continue
		}
		if _, target := p.tenantOf[r]; target || r == p.task {
			which := "target role"
			if r == p.task {
				which = "task role"
			}
			return nil, fmt.Errorf("%s: its document is unknown here, and leaving it out of the %s could hide what it grants; attach a policy the input defines instead", strings.Join(r.Foreign, "; "), which)
		}
		for _, f := range r.Foreign {
			m.Notes = append(m.Notes, f+": left out (the role is neither the task role nor a target role)")
		}
	}
	out, err := p.render(m)
	if err != nil {
		return nil, err
	}
	if _, err := fixture.Parse(out, ""); err != nil {
		return nil, fmt.Errorf("the imported fixture is not valid (a bug of the importer, or names the kit cannot hold): %v", err)
	}
	return &Result{YAML: out, Inferred: p.inferred, Notes: m.Notes, Model: m}, nil
}

func (p *mapping) account(m *Model, o Options) error {
	if o.Account != "" {
		if !accountID.MatchString(o.Account) {
			return fmt.Errorf("--account %q: an AWS account ID is 12 digits", o.Account)
		}
		p.acct = o.Account
		p.say("account %s: given (--account)", p.acct)
		return nil
	}
	count := map[string]int{}
	for _, d := range allDocs(m) {
		for _, mm := range arnAccount.FindAllStringSubmatch(docText(d), -1) {
			count[mm[1]]++
		}
	}
	best := ""
	for _, a := range sortedKeys(count) {
		if count[a] > count[best] {
			best = a
		}
	}
	if best == "" {
		p.acct = DefaultAccount
		p.say("account %s: no policy names an IAM ARN with an account, so the kit's deployment account (--account to choose)", p.acct)
		return nil
	}
	p.acct = best
	if m.DefaultAccount && best == DefaultAccount {
		p.say("account %s: the template's AWS::AccountId, unmapped, is the kit's deployment account (map AWS::AccountId in --values, or --account)", best)
		return nil
	}
	p.say("account %s: the account of the IAM ARNs in the policies (%d mentions)", best, count[best])
	if best == AttackerAccount {
		return fmt.Errorf("account %s is the kit's attacker account; give another with --account", best)
	}
	return nil
}

func trustsService(r *Role, service string) bool {
	if r.Trust == nil {
		return false
	}
	for _, st := range statements(r.Trust.JSON) {
		if st["Effect"] == "Allow" && slices.Contains(principals(st, "Service"), service) {
			return true
		}
	}
	return false
}

func trustsPrincipal(r *Role, arn string) bool {
	if r.Trust == nil {
		return false
	}
	for _, st := range statements(r.Trust.JSON) {
		if st["Effect"] == "Allow" && slices.Contains(principals(st, "AWS"), arn) {
			return true
		}
	}
	return false
}

func roleNames(rs []*Role) string {
	var n []string
	for _, r := range rs {
		n = append(n, r.Name+" ("+r.Address+")")
	}
	return strings.Join(n, ", ")
}

func (p *mapping) taskRole(m *Model, o Options) error {
	if o.TaskRole != "" {
		p.task = m.role(o.TaskRole)
		if p.task == nil {
			return fmt.Errorf("--task-role %s: no such role in the input (roles: %s)", o.TaskRole, roleNames(m.Roles))
		}
		p.say("task role %s (%s): given (--task-role)", p.task.Name, p.task.Address)
		return nil
	}
	var ecs []*Role
	for _, r := range m.Roles {
		if trustsService(r, "ecs-tasks.amazonaws.com") {
			ecs = append(ecs, r)
		}
	}
	switch len(ecs) {
	case 1:
		p.task = ecs[0]
		p.say("task role %s (%s): the only role whose trust policy lets ecs-tasks.amazonaws.com assume it", p.task.Name, p.task.Address)
		return nil
	case 0:
		return fmt.Errorf("no role's trust policy lets ecs-tasks.amazonaws.com assume it, so the MCP server's task role cannot be inferred: name it with --task-role (roles: %s)", roleNames(m.Roles))
	}
	return fmt.Errorf("several roles trust ecs-tasks.amazonaws.com (%s): name the MCP server's with --task-role", roleNames(ecs))
}

var principalTagVar = regexp.MustCompile(`\$\{aws:PrincipalTag/([^},]+)`)
var requestTagKey = regexp.MustCompile(`"aws:RequestTag/([^"]+)"`)

func (p *mapping) tagKeyOf(m *Model, o Options) error {
	if o.TagKey != "" {
		p.tagKey = o.TagKey
		p.say("tenant tag key %q: given (--tag-key)", p.tagKey)
	} else {
		found := map[string][]string{}
		for _, d := range allDocs(m) {
			for _, mm := range principalTagVar.FindAllStringSubmatch(docText(d), -1) {
				found[mm[1]] = append(found[mm[1]], d.Address)
			}
		}
		why := "${aws:PrincipalTag/%s} in the policies of %s"
		if len(found) == 0 {
			for _, d := range allDocs(m) {
				for _, mm := range requestTagKey.FindAllStringSubmatch(docText(d), -1) {
					found[mm[1]] = append(found[mm[1]], d.Address)
				}
			}
			why = "aws:RequestTag/%s conditions in the trust policies of %s"
		}
		keys := sortedKeys(found)
		switch len(keys) {
		case 0:
			return errors.New("no policy uses ${aws:PrincipalTag/…} or aws:RequestTag/…, so the tenant tag key cannot be inferred: give it with --tag-key")
		case 1:
			p.tagKey = keys[0]
			addrs := slices.Compact(slices.Sorted(slices.Values(found[keys[0]])))
			p.say("tenant tag key %q: "+why, p.tagKey, p.tagKey, strings.Join(addrs, ", "))
		default:
			return fmt.Errorf("the policies use several tag keys (%s): give the tenant's with --tag-key", strings.Join(keys, ", "))
		}
	}
	if p.tagKey != "tenant" {
		return fmt.Errorf("tenant tag key %q: the suites tag sessions with the key \"tenant\", the pattern's; a deployment that keys tenants otherwise cannot be checked yet", p.tagKey)
	}
	return nil
}

func (p *mapping) targetRoles(m *Model, o Options) error {
	if len(o.Targets) > 0 {
		for _, name := range sortedKeys(o.Targets) {
			r := m.role(name)
			if r == nil {
				return fmt.Errorf("--target %s=%s: no such role in the input (roles: %s)", name, o.Targets[name], roleNames(m.Roles))
			}
			p.tenantOf[r] = o.Targets[name]
			p.targets = append(p.targets, r)
			p.say("target role of tenant %s: %s (%s), given (--target)", o.Targets[name], r.Name, r.Address)
		}
	} else {
		taskARN := roleARN(p.acct, p.task)
		var cands []*Role
		for _, r := range m.Roles {
			if r != p.task && trustsPrincipal(r, taskARN) {
				cands = append(cands, r)
			}
		}
		if len(cands) == 0 {
			return fmt.Errorf("no role's trust policy names the task role %s as principal, so the tenants' target roles cannot be inferred: give them with --target ROLE=TENANT", taskARN)
		}
		prefix := commonPrefix(cands)
		for _, r := range cands {
			tenant, why := "", ""
			if vals := slices.Compact(slices.Sorted(slices.Values(conditionValues(r.Trust.JSON, "aws:RequestTag/"+p.tagKey)))); len(vals) == 1 {
				tenant, why = vals[0], "its trust policy requires aws:RequestTag/"+p.tagKey+" = "+vals[0]
			} else if v := r.Tags[p.tagKey]; v != "" {
				tenant, why = v, "its tag "+p.tagKey+" = "+v
			} else if len(cands) > 1 && len(r.Name) > len(prefix) {
				tenant, why = r.Name[len(prefix):], "its name after the target roles' common prefix "+prefix
			} else {
				return fmt.Errorf("role %s (%s) trusts the task role, but nothing says its tenant (no aws:RequestTag/%s condition, no %s tag): give it with --target %s=TENANT", r.Name, r.Address, p.tagKey, p.tagKey, r.Name)
			}
			p.tenantOf[r] = tenant
			p.targets = append(p.targets, r)
			p.say("target role of tenant %s: %s (%s), since its trust policy names the task role as principal and %s", tenant, r.Name, r.Address, why)
		}
	}
	sort.Slice(p.targets, func(i, j int) bool { return p.tenantOf[p.targets[i]] < p.tenantOf[p.targets[j]] })
	seen := map[string]*Role{}
	for _, r := range p.targets {
		t := p.tenantOf[r]
		if prev, dup := seen[t]; dup {
			return fmt.Errorf("tenant %s has two target roles, %s and %s: the kit maps each tenant's users onto one (give the mapping with --target)", t, prev.Name, r.Name)
		}
		seen[t] = r
		p.tenants = append(p.tenants, t)
	}
	return nil
}

// creationOrder puts a role before the roles whose trust policies name it: IAM refuses a trust
// policy naming a role that does not exist yet ("Invalid principal in policy"), and the kit
// creates the fixture's roles in order.
func (p *mapping) creationOrder(roles []*Role) []*Role {
	var out []*Role
	placed := map[*Role]bool{}
	for len(out) < len(roles) {
		progress := false
		for _, r := range roles {
			if placed[r] {
				continue
			}
			ready := true
			for _, o := range roles {
				if o != r && !placed[o] && trustsPrincipal(r, roleARN(p.acct, o)) {
					ready = false
				}
			}
			if ready {
				out, placed[r], progress = append(out, r), true, true
			}
		}
		if !progress { // roles that name each other: as they came
			for _, r := range roles {
				if !placed[r] {
					out, placed[r] = append(out, r), true
				}
			}
		}
	}
	return out
}

func commonPrefix(rs []*Role) string {
	prefix := rs[0].Name
	for _, r := range rs[1:] {
		for !strings.HasPrefix(r.Name, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	return prefix
}

var nameToken = regexp.MustCompile(`[^A-Za-z0-9]+`)

func (p *mapping) tenantBuckets(m *Model, o Options) error {
	if len(o.Buckets) > 0 {
		for _, name := range sortedKeys(o.Buckets) {
			b := m.bucket(name)
			if b == nil {
				return fmt.Errorf("--bucket %s=%s: no such bucket in the input", name, o.Buckets[name])
			}
			t := o.Buckets[name]
			if !slices.Contains(p.tenants, t) {
				return fmt.Errorf("--bucket %s=%s: tenant %s has no target role (tenants: %s)", name, t, t, strings.Join(p.tenants, ", "))
			}
			p.buckets[t] = b
			p.say("bucket of tenant %s: %s (%s), given (--bucket)", t, b.Name, b.Address)
		}
	}
	for _, t := range p.tenants {
		if p.buckets[t] != nil {
			continue
		}
		var cands []*Bucket
		for _, b := range m.Buckets {
			if slices.Contains(nameToken.Split(b.Name, -1), t) {
				cands = append(cands, b)
			}
		}
		switch len(cands) {
		case 1:
			p.buckets[t] = cands[0]
			p.say("bucket of tenant %s: %s (%s), the only bucket whose name holds %q", t, cands[0].Name, cands[0].Address, t)
		case 0:
			return fmt.Errorf("tenant %s: no bucket's name holds %q, so its bucket cannot be inferred: give it with --bucket BUCKET=%s", t, t, t)
		default:
			var n []string
			for _, b := range cands {
				n = append(n, b.Name)
			}
			return fmt.Errorf("tenant %s: several buckets' names hold %q (%s): give its bucket with --bucket BUCKET=%s", t, t, strings.Join(n, ", "), t)
		}
	}
	if len(p.tenants) < 2 {
		p.say("note: one tenant only, so the cross-tenant specs have no other tenant to try")
	}
	return nil
}

// kitUsers are the IdP users an imported fixture gives each tenant, in the order of the
// tenants: the default fixture's for the first two (subjects shaped like real IdPs', none a
// valid source identity), more of the same shape after.
var kitUsers = []struct{ name, sub, full string }{
	{"alice", "00u8c2d9qkL4mT7xw5d7", "Alice Archer"},
	{"bob", "5f0c9a8e-3b1d-4c27-9e6a-1d2b3c4d5e6f", "Bob Brandt"},
	{"erin", "00u9e3f0rlM5nU8yx6e8", "Erin Ellis"},
	{"frank", "6a1d0b9f-4c2e-5d38-0f7b-2e3c4d5e6f70", "Frank Foster"},
	{"grace", "00uaf4g1smN6oV9zy7f9", "Grace Green"},
	{"heidi", "7b2e1c0a-5d3f-6e49-1a8c-3f4d5e6f7081", "Heidi Hill"},
}

func (p *mapping) render(m *Model) ([]byte, error) {
	if len(p.tenants) > len(kitUsers) {
		return nil, fmt.Errorf("%d tenants: the importer gives at most %d tenants users", len(p.tenants), len(kitUsers))
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Imported by `mcpsso fixture import` from a %s. Every object names its source address in a\n", map[string]string{"terraform": "Terraform plan", "cloudformation": "CloudFormation template"}[m.Format])
	w("# comment and in its source: field (conform --fixture reports failures by it). What the\n# importer inferred:\n")
	for _, s := range p.inferred {
		w("#   %s\n", s)
	}
	w("\naccounts:\n  - id: %q\n    name: deployment\n  - id: %q\n    name: attacker # the kit's: tries other tenants' data from another account\n", p.acct, AttackerAccount)
	w("\ntenants:\n")
	for _, t := range p.tenants {
		w("  - name: %s\n    bucket: %s # %s\n", yamlStr(t), yamlStr(p.buckets[t].Name), p.buckets[t].Address)
	}
	w("\n# The kit's test users: one per tenant, carol with no mapping, dave with an Auth0 subject.\nusers:\n")
	for i, t := range p.tenants {
		u := kitUsers[i]
		w("  - {username: %s, sub: %q, email: %s, name: %s, tenant: %s}\n", u.name, u.sub, yamlStr(u.name+"@"+t+".example"), yamlStr(u.full), yamlStr(t))
	}
	w("  - {username: carol, sub: \"104592837461029384756\", email: carol@example.com, name: Carol Chen}\n")
	w("  - {username: dave, sub: \"auth0|65f0c0ffee1234567890abcd\", email: %s, name: Dave Dalton, tenant: %s}\n", yamlStr("dave@"+p.tenants[0]+".example"), yamlStr(p.tenants[0]))
	w("\nmappings:\n")
	for i, t := range p.tenants {
		r := p.targets[i]
		w("  - {user: %s, role: %s, tags: {%s: %s}, limits: {requestsPerMinute: 120, sessionSeconds: 900}} # %s\n", kitUsers[i].name, yamlStr(r.Name), p.tagKey, yamlStr(t), r.Address)
	}
	w("  - {user: dave, role: %s, tags: {%s: %s}, limits: {requestsPerMinute: 30, sessionSeconds: 900}}\n", yamlStr(p.targets[0].Name), p.tagKey, yamlStr(p.tenants[0]))
	w("\ntaskRole: %s # %s\n\nroles:\n", yamlStr(p.task.Name), p.task.Address)
	for _, r := range p.creationOrder(m.Roles) {
		w("  # %s\n  - name: %s\n    source: %s\n", r.Address, yamlStr(r.Name), yamlStr(r.Address))
		if r.Path != "" && r.Path != "/" {
			w("    path: %s\n", yamlStr(r.Path))
		}
		if r.MaxSessionDuration != 0 {
			w("    maxSessionDuration: %d\n", r.MaxSessionDuration)
		}
		if len(r.Tags) > 0 {
			w("    tags: {")
			for i, k := range sortedKeys(r.Tags) {
				if i > 0 {
					w(", ")
				}
				w("%s: %s", yamlStr(k), yamlStr(r.Tags[k]))
			}
			w("}\n")
		}
		if r.Trust == nil {
			return nil, fmt.Errorf("%s: the role has no trust policy", r.Address)
		}
		doc, err := flowJSON(r.Trust.JSON)
		if err != nil {
			return nil, err
		}
		w("    trust:\n      source: %s\n      document: %s\n", yamlStr(r.Trust.Address), doc)
		if len(r.Policies) > 0 {
			w("    inline:\n")
		}
		names := map[string]int{}
		for _, pol := range r.Policies {
			doc, err := flowJSON(pol.JSON)
			if err != nil {
				return nil, err
			}
			name := pol.Name
			if name == "" {
				name = "policy"
			}
			if names[name]++; names[name] > 1 {
				name = fmt.Sprintf("%s-%d", name, names[name])
			}
			w("      # %s\n      - name: %s\n        source: %s\n        document: %s\n", pol.Address, yamlStr(name), yamlStr(pol.Address), doc)
		}
	}
	w(`  # the kit's: another account's role that may tag its own sessions with anything
  - name: attacker
    account: %q
    trust:
      document: {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}
    inline:
      - name: everything
        document: {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sts:*"],"Resource":"*"}]}
`, AttackerAccount, AttackerAccount)
	w("\nbuckets:\n")
	for _, bk := range m.Buckets {
		w("  # %s\n  - name: %s\n    source: %s\n", bk.Address, yamlStr(bk.Name), yamlStr(bk.Address))
		if bk.Policy != nil {
			doc, err := flowJSON(bk.Policy.JSON)
			if err != nil {
				return nil, err
			}
			w("    # %s\n    policy:\n      source: %s\n      document: %s\n", bk.Policy.Address, yamlStr(bk.Policy.Address), doc)
		}
		for _, t := range p.tenants {
			if p.buckets[t] == bk {
				w("    objects:\n      - {key: README.md, content: %q, contentType: text/markdown}\n", "# "+t+"\nThis bucket belongs to tenant "+t+".\n")
				w("      - {key: private/%s.txt, content: %q, contentType: text/plain}\n", t, t+"'s private data\n")
			}
		}
	}
	return b.Bytes(), nil
}

// flowJSON writes a document as one line of JSON, which YAML reads as a flow mapping; < and >
// are kept as they are.
func flowJSON(doc map[string]any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// yamlStr quotes a scalar as a JSON string, which YAML reads back unchanged.
func yamlStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
