package iacimport

import (
	"encoding/json"
	"fmt"
	"regexp"

	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// DefaultAccount is the account CloudFormation's AWS::AccountId stands for unless the values
// file maps it: the kit's deployment account.
const DefaultAccount = "111122223333"

type cfnImporter struct {
	resources    map[string]map[string]any
	params       map[string]any
	values       *Values
	notes        []string
	givenAccount string
	depth        int // of resolve, bounded by maxDepth
	// defaultAccount: AWS::AccountId was needed and the values file does not map it.
	defaultAccount bool
}

// unresolvable is the error for an expression the importer cannot evaluate without deploying.
type unresolvable struct {
	resource, typ, property string
	expr                    any
	why                     string
}

func (u *unresolvable) Error() string {
	e, _ := json.Marshal(u.expr)
	return fmt.Sprintf("resource %s (%s), property %s: %s cannot be resolved statically: %s", u.resource, u.typ, u.property, e, u.why)
}

// parseTemplate decodes a template in JSON or YAML, CloudFormation's short forms (!Ref, !Sub,
// !GetAtt, …) turned into their long forms. A panic inside the YAML library (its decoder has
// dereferenced nil on some tagged scalars; see fixture's safeUnmarshal) becomes an error.
func parseTemplate(data []byte) (doc map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the YAML decoder failed on this input: %v", r)
		}
	}()
	if json.Valid(data) {
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		return doc, nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor YAML: %v", err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("a template is one YAML document, found %d", len(f.Docs))
	}
	v, err := yamlValue(f.Docs[0].Body)
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a template is a mapping, got %T", v)
	}
	return doc, nil
}

// yamlValue converts a YAML node, CloudFormation tags included.
func yamlValue(n ast.Node) (any, error) {
	switch n := n.(type) {
	case *ast.MappingNode:
		out := map[string]any{}
		for _, kv := range n.Values {
			k, err := yamlValue(kv.Key)
			if err != nil {
				return nil, err
			}
			v, err := yamlValue(kv.Value)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = v
		}
		return out, nil
	case *ast.MappingValueNode:
		return yamlValue(&ast.MappingNode{BaseNode: &ast.BaseNode{}, Values: []*ast.MappingValueNode{n}})
	case *ast.SequenceNode:
		out := []any{}
		for _, e := range n.Values {
			v, err := yamlValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.TagNode:
		tag := n.Start.Value
		v, err := yamlValue(n.Value)
		if err != nil {
			return nil, err
		}
		switch {
		case tag == "!Ref" || tag == "!Condition":
			return map[string]any{strings.TrimPrefix(tag, "!"): v}, nil
		case tag == "!GetAtt":
			if s, ok := v.(string); ok {
				if i := strings.IndexByte(s, '.'); i > 0 {
					v = []any{s[:i], s[i+1:]}
				}
			}
			return map[string]any{"Fn::GetAtt": v}, nil
		case strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!"):
			return map[string]any{"Fn::" + tag[1:]: v}, nil
		default:
			return v, nil
		}
	case nil:
		return nil, nil
	default:
		var v any
		if err := yaml.NodeToValue(n, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

func isTemplate(doc map[string]any) bool {
	_, ok := doc["Resources"].(map[string]any)
	return ok
}

func importCloudFormation(doc map[string]any, values *Values, account string) (*Model, error) {
	c := &cfnImporter{resources: map[string]map[string]any{}, values: values, givenAccount: account}
	res, _ := doc["Resources"].(map[string]any)
	for id, r := range res {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s: not a mapping", id)
		}
		c.resources[id] = m
	}
	c.params, _ = doc["Parameters"].(map[string]any)
	m := &Model{Format: "cloudformation"}
	ids := sortedKeys(c.resources)
	for _, id := range ids {
		r := c.resources[id]
		switch r["Type"] {
		case "AWS::IAM::Role":
			role := &Role{Address: c.address(id), Tags: map[string]string{}}
			var err error
			if role.Name, err = c.roleName(id); err != nil {
				return nil, err
			}
			props := c.props(id)
			if p, err := c.str(id, "Path", props["Path"]); err != nil {
				return nil, err
			} else if p != "" {
				role.Path = p
			}
			if n, ok := props["MaxSessionDuration"].(float64); ok {
				role.MaxSessionDuration = int(n)
			} else if s, ok := props["MaxSessionDuration"].(string); ok {
				role.MaxSessionDuration, _ = strconv.Atoi(s)
			}
			tags, err := c.resolve(id, "Tags", props["Tags"])
			if err != nil {
				return nil, err
			}
			for _, t := range asList(tags) {
				tm, _ := t.(map[string]any)
				k, _ := tm["Key"].(string)
				v, _ := tm["Value"].(string)
				role.Tags[k] = v
			}
			trust, err := c.policyDoc(id, "AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"])
			if err != nil {
				return nil, err
			}
			role.Trust = &Doc{Address: role.Address, JSON: trust}
			pols, _ := props["Policies"].([]any)
			for i, p := range pols {
				pm, _ := p.(map[string]any)
				prop := fmt.Sprintf("Policies[%d]", i)
				name, err := c.str(id, prop+".PolicyName", pm["PolicyName"])
				if err != nil {
					return nil, err
				}
				d, err := c.policyDoc(id, prop+".PolicyDocument", pm["PolicyDocument"])
				if err != nil {
					return nil, err
				}
				role.Policies = append(role.Policies, &Doc{Name: name, Address: role.Address, JSON: d})
			}
			if props["PermissionsBoundary"] != nil {
				m.Notes = append(m.Notes, role.Address+": the permissions boundary is not modelled by the fixture; the suites run without it")
			}
			m.Roles = append(m.Roles, role)
		case "AWS::S3::Bucket":
			name, err := c.bucketName(id)
			if err != nil {
				return nil, err
			}
			m.Buckets = append(m.Buckets, &Bucket{Address: c.address(id), Name: name})
		}
	}
	for _, id := range ids {
		r := c.resources[id]
		props := c.props(id)
		switch r["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			nameProp := "PolicyName"
			if r["Type"] == "AWS::IAM::ManagedPolicy" {
				nameProp = "ManagedPolicyName"
			}
			name := id
			if props[nameProp] != nil {
				var err error
				if name, err = c.str(id, nameProp, props[nameProp]); err != nil {
					return nil, err
				}
			}
			d, err := c.policyDoc(id, "PolicyDocument", props["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			roles, err := c.resolve(id, "Roles", props["Roles"])
			if err != nil {
				return nil, err
			}
			for _, rn := range asList(roles) {
				role := m.role(fmt.Sprint(rn))
				if role == nil {
					return nil, fmt.Errorf("resource %s (%s), property Roles: role %v is not a role of this template", id, r["Type"], rn)
				}
				role.Policies = append(role.Policies, &Doc{Name: name, Address: c.address(id), JSON: d})
			}
			if r["Type"] == "AWS::IAM::Policy" && (props["Users"] != nil || props["Groups"] != nil) {
				m.Notes = append(m.Notes, c.address(id)+": its users and groups are not modelled")
			}
		case "AWS::S3::BucketPolicy":
			bn, err := c.str(id, "Bucket", props["Bucket"])
			if err != nil {
				return nil, err
			}
			b := m.bucket(bn)
			if b == nil {
				return nil, fmt.Errorf("resource %s (AWS::S3::BucketPolicy), property Bucket: bucket %q is not a bucket of this template", id, bn)
			}
			d, err := c.policyDoc(id, "PolicyDocument", props["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			b.Policy = &Doc{Address: c.address(id), JSON: d}
		}
	}
	// A role's ManagedPolicyArns, once the policies' names are known.
	for _, id := range ids {
		if c.resources[id]["Type"] != "AWS::IAM::Role" {
			continue
		}
		arns, err := c.resolve(id, "ManagedPolicyArns", c.props(id)["ManagedPolicyArns"])
		if err != nil {
			return nil, err
		}
		for _, a := range asList(arns) {
			arn := fmt.Sprint(a)
			role := m.Roles[slicesIndex(m.Roles, c.address(id))]
			d, err := c.managedByARN(arn)
			if err != nil {
				role.Foreign = append(role.Foreign, (&foreignPolicy{arn: arn, by: c.address(id) + " ManagedPolicyArns"}).Error())
				continue
			}
			role.Policies = append(role.Policies, d)
		}
	}
	m.Notes = append(m.Notes, c.notes...)
	m.DefaultAccount = c.defaultAccount
	return m, nil
}

func slicesIndex(rs []*Role, addr string) int {
	for i, r := range rs {
		if r.Address == addr {
			return i
		}
	}
	return -1
}

func asList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case nil:
		return nil
	default:
		return []any{l}
	}
}

// address is the logical id, with the construct path cdk synth records beside it.
func (c *cfnImporter) address(id string) string {
	if md, ok := c.resources[id]["Metadata"].(map[string]any); ok {
		if p, ok := md["aws:cdk:path"].(string); ok {
			return id + " (" + p + ")"
		}
	}
	return id
}

func (c *cfnImporter) props(id string) map[string]any {
	p, _ := c.resources[id]["Properties"].(map[string]any)
	if p == nil {
		p = map[string]any{}
	}
	return p
}

func (c *cfnImporter) typ(id string) string {
	t, _ := c.resources[id]["Type"].(string)
	return t
}

func (c *cfnImporter) str(id, prop string, v any) (string, error) {
	r, err := c.resolve(id, prop, v)
	if err != nil {
		return "", err
	}
	switch s := r.(type) {
	case string:
		return s, nil
	case nil:
		return "", nil
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64), nil
	}
	return "", &unresolvable{id, c.typ(id), prop, v, "it is not a string"}
}

func (c *cfnImporter) policyDoc(id, prop string, v any) (map[string]any, error) {
	if v == nil {
		return nil, fmt.Errorf("resource %s (%s), property %s: missing", id, c.typ(id), prop)
	}
	r, err := c.resolve(id, prop, v)
	if err != nil {
		return nil, err
	}
	return parsePolicy(r, fmt.Sprintf("resource %s (%s), property %s", id, c.typ(id), prop))
}

// roleName is a role's RoleName, or a placeholder when CloudFormation generates it.
func (c *cfnImporter) roleName(id string) (string, error) {
	return c.physicalName(id, "RoleName")
}

func (c *cfnImporter) bucketName(id string) (string, error) {
	return c.physicalName(id, "BucketName")
}

func (c *cfnImporter) physicalName(id, prop string) (string, error) {
	if v, ok := c.props(id)[prop]; ok {
		return c.str(id, prop, v)
	}
	if v, ok := c.values.lookup(id + "." + prop); ok {
		return v, nil
	}
	return "", &unresolvable{id, c.typ(id), prop, map[string]any{"Ref": id}, fmt.Sprintf(
		"the template gives no %s, so CloudFormation generates one at deploy time; give it in the template or map %q in the values file (--values)", prop, id+"."+prop)}
}

func (c *cfnImporter) account() string {
	if v, ok := c.values.lookup("AWS::AccountId"); ok {
		return v
	}
	if c.givenAccount != "" {
		return c.givenAccount
	}
	c.defaultAccount = true
	return DefaultAccount
}

func (c *cfnImporter) pseudo(name string) (string, bool) {
	switch name {
	case "AWS::AccountId":
		return c.account(), true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::Region":
		if v, ok := c.values.lookup(name); ok {
			return v, true
		}
		return "us-east-1", true
	}
	if v, ok := c.values.lookup(name); ok {
		return v, true
	}
	return "", false
}

// ref is what Ref of name gives: a parameter's default, a pseudo parameter, or a resource's
// physical id.
func (c *cfnImporter) ref(id, prop, name string) (string, error) {
	if v, ok := c.pseudo(name); ok {
		return v, nil
	}
	if p, ok := c.params[name].(map[string]any); ok {
		if v, ok := c.values.lookup(name); ok {
			return v, nil
		}
		if d, ok := p["Default"]; ok {
			return fmt.Sprint(d), nil
		}
		return "", &unresolvable{id, c.typ(id), prop, map[string]any{"Ref": name}, "parameter " + name + " has no default; map it in the values file (--values)"}
	}
	if _, ok := c.resources[name]; ok {
		switch c.typ(name) {
		case "AWS::IAM::Role":
			return c.roleName(name)
		case "AWS::S3::Bucket":
			return c.bucketName(name)
		case "AWS::IAM::ManagedPolicy":
			return c.getAtt(id, prop, name, "PolicyArn")
		case "AWS::IAM::Policy":
			return c.str(name, "PolicyName", c.props(name)["PolicyName"])
		}
		if v, ok := c.values.lookup(name); ok {
			return v, nil
		}
		return "", &unresolvable{id, c.typ(id), prop, map[string]any{"Ref": name}, "the physical id of a " + c.typ(name) + " is known only after deploy; map " + strconv.Quote(name) + " in the values file (--values)"}
	}
	return "", &unresolvable{id, c.typ(id), prop, map[string]any{"Ref": name}, name + " is neither a parameter, a pseudo parameter nor a resource of the template"}
}

func (c *cfnImporter) getAtt(id, prop, res, attr string) (string, error) {
	expr := map[string]any{"Fn::GetAtt": []any{res, attr}}
	if v, ok := c.values.lookup(res + "." + attr); ok {
		return v, nil
	}
	if _, ok := c.resources[res]; !ok {
		return "", &unresolvable{id, c.typ(id), prop, expr, res + " is not a resource of the template"}
	}
	switch c.typ(res) + "." + attr {
	case "AWS::IAM::Role.Arn":
		name, err := c.roleName(res)
		if err != nil {
			return "", err
		}
		path, err := c.str(res, "Path", c.props(res)["Path"])
		if err != nil {
			return "", err
		}
		if path == "" {
			path = "/"
		}
		return "arn:aws:iam::" + c.account() + ":role" + path + name, nil
	case "AWS::S3::Bucket.Arn":
		name, err := c.bucketName(res)
		if err != nil {
			return "", err
		}
		return "arn:aws:s3:::" + name, nil
	case "AWS::IAM::ManagedPolicy.PolicyArn":
		name, err := c.str(res, "ManagedPolicyName", c.props(res)["ManagedPolicyName"])
		if err != nil {
			return "", err
		}
		if name == "" {
			return "", &unresolvable{id, c.typ(id), prop, expr, "the managed policy " + res + " has no ManagedPolicyName, so its ARN is known only after deploy; map " + strconv.Quote(res+".PolicyArn") + " in the values file"}
		}
		path, _ := c.str(res, "Path", c.props(res)["Path"])
		if path == "" {
			path = "/"
		}
		return "arn:aws:iam::" + c.account() + ":policy" + path + name, nil
	}
	return "", &unresolvable{id, c.typ(id), prop, expr, "attribute " + attr + " of a " + c.typ(res) + " is known only after deploy; map " + strconv.Quote(res+"."+attr) + " in the values file (--values)"}
}

func (c *cfnImporter) managedByARN(arn string) (*Doc, error) {
	for _, id := range sortedKeys(c.resources) {
		if c.typ(id) != "AWS::IAM::ManagedPolicy" {
			continue
		}
		if a, err := c.getAtt(id, "PolicyArn", id, "PolicyArn"); err == nil && a == arn {
			name, _ := c.str(id, "ManagedPolicyName", c.props(id)["ManagedPolicyName"])
			d, err := c.policyDoc(id, "PolicyDocument", c.props(id)["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			return &Doc{Name: name, Address: c.address(id), JSON: d}, nil
		}
	}
	return nil, fmt.Errorf("%s is not a managed policy of this template", arn)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// maxDepth bounds how deep resolve nests: a template whose names refer to themselves
// (RoleName: !Ref TheRoleItself) would otherwise recurse without end.
const maxDepth = 64

// resolve evaluates the intrinsic functions in v.
func (c *cfnImporter) resolve(id, prop string, v any) (any, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, &unresolvable{id, c.typ(id), prop, v, "the expression refers to itself, directly or through other resources"}
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := c.resolve(id, prop, e)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" {
					return c.intrinsic(id, prop, k, arg, x)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			r, err := c.resolve(id, prop, e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (c *cfnImporter) intrinsic(id, prop, fn string, arg any, expr map[string]any) (any, error) {
	bad := func(why string) error { return &unresolvable{id, c.typ(id), prop, expr, why} }
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, bad("Ref takes a name")
		}
		return c.ref(id, prop, name)
	case "Fn::GetAtt":
		var res, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 {
				res, _ = a[0].(string)
				attr, _ = a[1].(string)
			}
		case string:
			res, attr, _ = strings.Cut(a, ".")
		}
		if res == "" || attr == "" {
			return nil, bad("Fn::GetAtt takes [resource, attribute]")
		}
		return c.getAtt(id, prop, res, attr)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, bad("Fn::Join takes [delimiter, [values]]")
		}
		delim, _ := a[0].(string)
		list, err := c.resolve(id, prop, a[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, e := range asList(list) {
			s, ok := e.(string)
			if !ok {
				return nil, bad(fmt.Sprintf("Fn::Join: element %v is not a string", e))
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, bad("Fn::Select takes [index, [values]]")
		}
		idx, err := c.resolve(id, prop, a[0])
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(fmt.Sprint(idx))
		if err != nil {
			return nil, bad("Fn::Select: the index is not a number")
		}
		list, err := c.resolve(id, prop, a[1])
		if err != nil {
			return nil, err
		}
		l := asList(list)
		if i < 0 || i >= len(l) {
			return nil, bad(fmt.Sprintf("Fn::Select: index %d out of range (%d values)", i, len(l)))
		}
		return l[i], nil
	case "Fn::Sub":
		var tmpl string
		vars := map[string]any{}
		switch a := arg.(type) {
		case string:
			tmpl = a
		case []any:
			if len(a) != 2 {
				return nil, bad("Fn::Sub takes a string or [string, {variables}]")
			}
			tmpl, _ = a[0].(string)
			vm, _ := a[1].(map[string]any)
			for k, e := range vm {
				r, err := c.resolve(id, prop, e)
				if err != nil {
					return nil, err
				}
				vars[k] = r
			}
		default:
			return nil, bad("Fn::Sub takes a string or [string, {variables}]")
		}
		var firstErr error
		out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
			name := m[2 : len(m)-1]
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}" // ${!Literal} is the literal ${Literal}
			}
			if v, ok := vars[name]; ok {
				return fmt.Sprint(v)
			}
			var s string
			var err error
			if res, attr, dotted := strings.Cut(name, "."); dotted && c.resources[res] != nil {
				s, err = c.getAtt(id, prop, res, attr)
			} else if strings.Contains(name, ":") && !strings.HasPrefix(name, "AWS::") {
				err = bad("Fn::Sub: ${" + name + "} is not a parameter, resource or pseudo parameter; an IAM policy variable inside Fn::Sub must be written ${!" + name + "}")
			} else {
				s, err = c.ref(id, prop, name)
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
			return s
		})
		if firstErr != nil {
			return nil, firstErr
		}
		return out, nil
	}
	return nil, bad(fn + " is not evaluated by the importer (it resolves Ref, Fn::Sub, Fn::Join, Fn::Select and Fn::GetAtt of role, bucket and managed-policy ARNs, with parameter defaults)")
}
