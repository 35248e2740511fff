package iacimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The parts of Terraform's JSON plan format (`terraform show -json`) the importer reads; the
// rest is ignored, since the format is Terraform's and grows.
type tfPlan struct {
	FormatVersion string `json:"format_version"`
	PlannedValues struct {
		RootModule tfModule `json:"root_module"`
	} `json:"planned_values"`
	ResourceChanges []struct {
		Address string `json:"address"`
		Change  struct {
			AfterUnknown map[string]any `json:"after_unknown"`
		} `json:"change"`
	} `json:"resource_changes"`
	Configuration struct {
		RootModule tfConfigModule `json:"root_module"`
	} `json:"configuration"`
}

type tfModule struct {
	Address      string       `json:"address"`
	Resources    []tfResource `json:"resources"`
	ChildModules []tfModule   `json:"child_modules"`
}

type tfResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Index   any            `json:"index"`
	Values  map[string]any `json:"values"`
	module  string
}

type tfConfigModule struct {
	Resources   []tfConfigResource `json:"resources"`
	ModuleCalls map[string]struct {
		Module tfConfigModule `json:"module"`
	} `json:"module_calls"`
}

type tfConfigResource struct {
	Address     string                     `json:"address"`
	Expressions map[string]json.RawMessage `json:"expressions"`
}

type tfImporter struct {
	plan      tfPlan
	resources []*tfResource
	unknown   map[string]map[string]any // address -> after_unknown
	values    *Values
	missing   *missingValues
}

func isTerraformPlan(doc map[string]any) bool {
	_, fv := doc["format_version"]
	_, pv := doc["planned_values"]
	return fv && pv
}

func importTerraform(data []byte, values *Values) (*Model, error) {
	t := &tfImporter{unknown: map[string]map[string]any{}, values: values, missing: &missingValues{}}
	if err := json.Unmarshal(data, &t.plan); err != nil {
		return nil, fmt.Errorf("terraform plan: %v", err)
	}
	if !strings.HasPrefix(t.plan.FormatVersion, "1.") {
		return nil, fmt.Errorf("terraform plan: format_version %q: the importer reads format 1.x (terraform show -json of Terraform 1.0 or later)", t.plan.FormatVersion)
	}
	for _, rc := range t.plan.ResourceChanges {
		t.unknown[rc.Address] = rc.Change.AfterUnknown
	}
	t.collect(t.plan.PlannedValues.RootModule)
	m := &Model{Format: "terraform"}

	// Roles and buckets first; the policies that attach to them after.
	for _, r := range t.resources {
		switch r.Type {
		case "aws_iam_role":
			role := &Role{Address: r.Address, Tags: map[string]string{}}
			role.Name = t.str(r, "name")
			role.Path = t.optStr(r, "path")
			if n, ok := r.Values["max_session_duration"].(float64); ok {
				role.MaxSessionDuration = int(n)
			}
			if tags, ok := r.Values["tags"].(map[string]any); ok {
				for k, v := range tags {
					role.Tags[k], _ = v.(string)
				}
			}
			if doc := t.policy(r, "assume_role_policy"); doc != nil {
				role.Trust = &Doc{Address: r.Address, JSON: doc}
			}
			if pb := t.optStr(r, "permissions_boundary"); pb != "" {
				m.Notes = append(m.Notes, fmt.Sprintf("%s: the permissions boundary %s is not modelled by the fixture; the suites run without it", r.Address, pb))
			}
			if inl, ok := r.Values["inline_policy"].([]any); ok {
				for i, e := range inl {
					ip, _ := e.(map[string]any)
					name, _ := ip["name"].(string)
					text, _ := ip["policy"].(string)
					if name == "" || text == "" {
						continue
					}
					doc, err := parsePolicy(text, fmt.Sprintf("%s inline_policy[%d]", r.Address, i))
					if err != nil {
						return nil, err
					}
					role.Policies = append(role.Policies, &Doc{Name: name, Address: r.Address, JSON: doc})
				}
			}
			m.Roles = append(m.Roles, role)
		case "aws_s3_bucket":
			m.Buckets = append(m.Buckets, &Bucket{Address: r.Address, Name: t.str(r, "bucket")})
		}
	}
	for _, r := range t.resources {
		switch r.Type {
		case "aws_iam_role_policy":
			role := t.linkedRole(m, r, "role")
			if doc := t.policy(r, "policy"); doc != nil && role != nil {
				name := t.str(r, "name")
				role.Policies = append(role.Policies, &Doc{Name: name, Address: r.Address, JSON: doc})
			}
		case "aws_iam_role_policy_attachment":
			role := t.linkedRole(m, r, "role")
			pol, err := t.linkedPolicy(r, "policy_arn")
			var fp *foreignPolicy
			if errors.As(err, &fp) && role != nil {
				role.Foreign = append(role.Foreign, fp.Error())
				continue
			}
			if err != nil {
				return nil, err
			}
			if role != nil && pol != nil {
				role.Policies = append(role.Policies, pol)
			}
		case "aws_s3_bucket_policy":
			b := t.linkedBucket(m, r, "bucket")
			if doc := t.policy(r, "policy"); doc != nil && b != nil {
				b.Policy = &Doc{Address: r.Address, JSON: doc}
			}
		}
	}
	for _, r := range t.resources {
		if r.Type != "aws_iam_role" {
			continue
		}
		arns, _ := r.Values["managed_policy_arns"].([]any)
		for _, a := range arns {
			arn, _ := a.(string)
			role := m.role(t.peek(r, "name"))
			if role == nil {
				continue // its name is missing, and said so
			}
			pol, err := t.policyByARN(r.Address, arn)
			var fp *foreignPolicy
			if errors.As(err, &fp) {
				role.Foreign = append(role.Foreign, fp.Error())
				continue
			}
			if err != nil {
				return nil, err
			}
			role.Policies = append(role.Policies, pol)
		}
	}
	if err := t.missing.err(); err != nil {
		return nil, err
	}
	return m, nil
}

func (t *tfImporter) collect(mod tfModule) {
	for i := range mod.Resources {
		r := &mod.Resources[i]
		if r.Mode != "managed" {
			continue
		}
		r.module = mod.Address
		t.resources = append(t.resources, r)
	}
	for _, c := range mod.ChildModules {
		t.collect(c)
	}
}

// isUnknown reports whether the plan says attr is known only after apply.
func (t *tfImporter) isUnknown(r *tfResource, attr string) bool {
	u, ok := t.unknown[r.Address][attr]
	return ok && u == true
}

// str is a string attribute; one known only after apply is a placeholder named
// "<address>.<attr>" the values file must map.
func (t *tfImporter) str(r *tfResource, attr string) string {
	if s, ok := r.Values[attr].(string); ok && s != "" {
		return s
	}
	name := r.Address + "." + attr
	if v, ok := t.values.lookup(name); ok {
		return v
	}
	why := "is not in the plan"
	if t.isUnknown(r, attr) {
		why = "is known only after apply"
	}
	t.missing.add(name, why)
	return ""
}

// peek is a string attribute, from the plan or the values file, without asking for it.
func (t *tfImporter) peek(r *tfResource, attr string) string {
	if s, ok := r.Values[attr].(string); ok && s != "" {
		return s
	}
	if t.values != nil {
		return t.values.Values[r.Address+"."+attr]
	}
	return ""
}

func (t *tfImporter) optStr(r *tfResource, attr string) string {
	s, _ := r.Values[attr].(string)
	return s
}

// policy is a policy document attribute, parsed.
func (t *tfImporter) policy(r *tfResource, attr string) map[string]any {
	text := t.str(r, attr)
	if text == "" {
		return nil
	}
	doc, err := parsePolicy(text, r.Address+"."+attr)
	if err != nil {
		t.missing.fail(err)
		return nil
	}
	return doc
}

// linked finds the resource a reference attribute of r points at. A known value is matched
// by the linked resource's own attributes (match); one known only after apply (an id, an ARN)
// is followed through the plan's configuration, which records what the expression refers to.
func (t *tfImporter) linked(r *tfResource, attr, typ string, match func(*tfResource, string) bool) *tfResource {
	if s, ok := r.Values[attr].(string); ok && s != "" {
		for _, c := range t.resources {
			if c.Type == typ && match(c, s) {
				return c
			}
		}
		return nil
	}
	if target := t.followReference(r, attr, typ); target != nil {
		return target
	}
	name := r.Address + "." + attr
	if v, ok := t.values.lookup(name); ok {
		for _, c := range t.resources {
			if c.Type == typ && match(c, v) {
				return c
			}
		}
		t.missing.fail(fmt.Errorf("values file: %s = %q: no %s in the plan has that name", name, v, typ))
		return nil
	}
	t.missing.add(name, "is known only after apply, and the plan's configuration does not say which "+typ+" it refers to")
	return nil
}

var tfRef = regexp.MustCompile(`^([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[([^\]]+)\])?`)

// followReference resolves attr of r through the configuration's references, e.g.
// ["aws_s3_bucket.tenant", "each.key"] from r = aws_s3_bucket_policy.tenant["acme"] gives
// aws_s3_bucket.tenant["acme"] in r's module.
func (t *tfImporter) followReference(r *tfResource, attr, typ string) *tfResource {
	cfg := t.configOf(r)
	if cfg == nil {
		return nil
	}
	raw, ok := cfg.Expressions[attr]
	if !ok {
		return nil
	}
	var expr struct {
		References []string `json:"references"`
	}
	if json.Unmarshal(raw, &expr) != nil {
		return nil
	}
	usesEach := slices.Contains(expr.References, "each.key")
	usesCount := slices.Contains(expr.References, "count.index")
	for _, ref := range expr.References {
		m := tfRef.FindStringSubmatch(ref)
		if m == nil || m[1] != typ {
			continue
		}
		base := m[1] + "." + m[2]
		if r.module != "" {
			base = r.module + "." + base
		}
		var candidates []*tfResource
		for _, c := range t.resources {
			if c.module == r.module && c.Type == m[1] && c.Name == m[2] {
				candidates = append(candidates, c)
			}
		}
		switch {
		case m[4] == "each.key" || (m[3] == "" && usesEach):
			return findAddress(candidates, base+indexSuffix(r.Index))
		case m[4] == "count.index" || (m[3] == "" && usesCount):
			return findAddress(candidates, base+indexSuffix(r.Index))
		case m[3] != "":
			return findAddress(candidates, base+m[3])
		case len(candidates) == 1:
			return candidates[0]
		}
	}
	return nil
}

func indexSuffix(index any) string {
	switch i := index.(type) {
	case string:
		return "[" + strconv.Quote(i) + "]"
	case float64:
		return "[" + strconv.Itoa(int(i)) + "]"
	}
	return ""
}

func findAddress(rs []*tfResource, addr string) *tfResource {
	for _, r := range rs {
		if r.Address == addr {
			return r
		}
	}
	return nil
}

// configOf is r's resource block in the plan's configuration.
func (t *tfImporter) configOf(r *tfResource) *tfConfigResource {
	mod := &t.plan.Configuration.RootModule
	if r.module != "" {
		for _, part := range strings.Split(r.module, ".module.") {
			part = strings.TrimPrefix(part, "module.")
			if i := strings.IndexByte(part, '['); i >= 0 {
				part = part[:i] // a module instance of for_each or count: one configuration
			}
			call, ok := mod.ModuleCalls[part]
			if !ok {
				return nil
			}
			mod = &call.Module
		}
	}
	for i := range mod.Resources {
		if mod.Resources[i].Address == r.Type+"."+r.Name {
			return &mod.Resources[i]
		}
	}
	return nil
}

func (t *tfImporter) linkedRole(m *Model, r *tfResource, attr string) *Role {
	c := t.linked(r, attr, "aws_iam_role", func(c *tfResource, v string) bool { return t.peek(c, "name") == v })
	if c == nil {
		if s, ok := r.Values[attr].(string); ok && s != "" {
			t.missing.fail(fmt.Errorf("%s: %s = %q: no aws_iam_role of the plan has that name (the importer checks the plan's own roles only)", r.Address, attr, s))
		}
		return nil
	}
	for _, role := range m.Roles {
		if role.Address == c.Address {
			return role
		}
	}
	return nil
}

func (t *tfImporter) linkedBucket(m *Model, r *tfResource, attr string) *Bucket {
	c := t.linked(r, attr, "aws_s3_bucket", func(c *tfResource, v string) bool { return t.peek(c, "bucket") == v })
	if c == nil {
		if s, ok := r.Values[attr].(string); ok && s != "" {
			t.missing.fail(fmt.Errorf("%s: %s = %q: no aws_s3_bucket of the plan has that name", r.Address, attr, s))
		}
		return nil
	}
	for _, b := range m.Buckets {
		if b.Address == c.Address {
			return b
		}
	}
	return nil
}

// linkedPolicy is the managed policy an attachment attaches.
func (t *tfImporter) linkedPolicy(r *tfResource, attr string) (*Doc, error) {
	if s, ok := r.Values[attr].(string); ok && s != "" {
		return t.policyByARN(r.Address, s)
	}
	c := t.linked(r, attr, "aws_iam_policy", func(*tfResource, string) bool { return false })
	if c == nil {
		return nil, nil
	}
	return t.managedDoc(c), nil
}

func (t *tfImporter) managedDoc(c *tfResource) *Doc {
	doc := t.policy(c, "policy")
	if doc == nil {
		return nil
	}
	return &Doc{Name: t.str(c, "name"), Address: c.Address, JSON: doc}
}

// policyByARN is a customer managed policy of the plan by its ARN. A policy from outside the
// plan (an AWS managed policy) cannot be imported, and leaving it out could hide what it
// grants, so it is an error.
func (t *tfImporter) policyByARN(from, arn string) (*Doc, error) {
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	for _, c := range t.resources {
		if c.Type == "aws_iam_policy" && (c.Values["arn"] == arn || (strings.Contains(arn, ":policy/") && c.Values["name"] == name && !strings.Contains(arn, ":aws:policy/"))) {
			return t.managedDoc(c), nil
		}
	}
	return nil, &foreignPolicy{arn: arn, by: from}
}
