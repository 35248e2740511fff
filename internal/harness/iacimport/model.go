// Package iacimport turns a deployment's infrastructure code — a Terraform plan in JSON
// (`terraform show -json PLANFILE`) or a CloudFormation template in JSON or YAML (what
// `cdk synth` writes) — into the kit's fixture: the IAM roles with their trust, inline and
// attached policies and the S3 buckets with their policies, mapped onto the pattern (which role
// is the MCP server's task role, which are the tenants' target roles, which bucket is whose, the
// tenant tag key), so that the scenario suites run against the deployment's own policies before
// anything is deployed.
//
// Every object of the fixture names where it came from twice: in a YAML comment, for the
// reader, and in its `source:` field, which the fixture keeps so that a failing spec can name
// the IaC address of the policy that decided it. Values known only after apply (a name Terraform
// generates, the account CloudFormation deploys into) become named placeholders that a small
// values file maps; what cannot be resolved statically is an error naming the resource, the
// property and the expression.
package iacimport

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Model is what the importer found: roles and buckets, each with its IaC address.
type Model struct {
	// Format is "terraform" or "cloudformation".
	Format  string
	Roles   []*Role
	Buckets []*Bucket
	// Notes are things the fixture cannot express, printed as warnings.
	Notes []string
	// DefaultAccount: the template's AWS::AccountId was taken as DefaultAccount.
	DefaultAccount bool
}

// Role is an IAM role.
type Role struct {
	Address            string
	Name               string
	Path               string
	MaxSessionDuration int
	Tags               map[string]string
	Trust              *Doc
	Policies           []*Doc // inline and attached (managed) policies
	// Foreign are policies attached from outside the input (AWS managed ones): their
	// documents are unknown here.
	Foreign []string
}

// foreignPolicy says an attached policy is not defined in the input.
type foreignPolicy struct{ arn, by string }

func (f *foreignPolicy) Error() string {
	return f.by + ": attaches " + f.arn + ", which the input does not define (an AWS managed policy, or one made elsewhere)"
}

// Bucket is an S3 bucket.
type Bucket struct {
	Address string
	Name    string
	Policy  *Doc
}

// Doc is a policy document with the address it came from.
type Doc struct {
	// Name is the inline policy's name (or the managed policy's).
	Name    string
	Address string
	JSON    map[string]any
}

func (m *Model) role(name string) *Role {
	for _, r := range m.Roles {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func (m *Model) bucket(name string) *Bucket {
	for _, b := range m.Buckets {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// parsePolicy decodes a policy document given as JSON text (Terraform) or as an object
// (CloudFormation).
func parsePolicy(v any, where string) (map[string]any, error) {
	switch d := v.(type) {
	case string:
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			return nil, fmt.Errorf("%s: the policy is not a JSON object: %v", where, err)
		}
		return m, nil
	case map[string]any:
		return d, nil
	default:
		return nil, fmt.Errorf("%s: a policy must be a JSON document, got %T", where, v)
	}
}

// statements lists a document's statements, a single statement object included.
func statements(doc map[string]any) []map[string]any {
	switch s := doc["Statement"].(type) {
	case map[string]any:
		return []map[string]any{s}
	case []any:
		var out []map[string]any
		for _, e := range s {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// strs is a policy element given as a string or a list of strings.
func strs(v any) []string {
	switch s := v.(type) {
	case string:
		return []string{s}
	case []any:
		var out []string
		for _, e := range s {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// principals lists the principals of one type ("AWS", "Service") a statement names.
func principals(st map[string]any, kind string) []string {
	switch p := st["Principal"].(type) {
	case string:
		if kind == "AWS" {
			return []string{p}
		}
	case map[string]any:
		return strs(p[kind])
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// conditionValues lists the values a document's conditions give key (any operator).
func conditionValues(doc map[string]any, key string) []string {
	var out []string
	for _, st := range statements(doc) {
		cond, _ := st["Condition"].(map[string]any)
		for _, op := range sortedKeys(cond) {
			keys, _ := cond[op].(map[string]any)
			for k, v := range keys {
				if strings.EqualFold(k, key) {
					out = append(out, strs(v)...)
				}
			}
		}
	}
	return out
}
