package iacimport

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// Values maps the placeholders of values known only after apply to the values they will have:
// a Terraform attribute by "<address>.<attribute>" (module.mcp.aws_iam_role.task.name), a
// CloudFormation pseudo parameter or attribute by its name (AWS::AccountId, TaskRole.Arn).
type Values struct {
	Values map[string]string `yaml:"values"`
	used   map[string]bool
}

// LoadValues reads a values file strictly: a map "values" of names to strings, nothing else.
func LoadValues(path string) (*Values, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("values file: %w", err)
	}
	var v Values
	if err := yaml.UnmarshalWithOptions(data, &v, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("values file %s: it must hold only a map \"values\" of placeholder names to strings (unknown fields are errors):\n%s", path, yaml.FormatError(err, false, true))
	}
	for k, val := range v.Values {
		if strings.TrimSpace(val) == "" {
			return nil, fmt.Errorf("values file %s: values.%s is empty: give the value it will have after apply", path, k)
		}
	}
	return &v, nil
}

func (v *Values) lookup(name string) (string, bool) {
	if v == nil {
		return "", false
	}
	s, ok := v.Values[name]
	if ok {
		if v.used == nil {
			v.used = map[string]bool{}
		}
		v.used[name] = true
	}
	return s, ok
}

// unused lists the values no placeholder asked for: a misspelt name would otherwise go unseen.
func (v *Values) unused() []string {
	if v == nil {
		return nil
	}
	var out []string
	for k := range v.Values {
		if !v.used[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// missingValues gathers every placeholder without a value, so that one run names them all.
type missingValues struct {
	names []string
	why   map[string]string
	errs  []error
}

func (m *missingValues) add(name, why string) {
	if m.why == nil {
		m.why = map[string]string{}
	}
	if _, dup := m.why[name]; !dup {
		m.names = append(m.names, name)
		m.why[name] = why
	}
}

func (m *missingValues) fail(err error) { m.errs = append(m.errs, err) }

func (m *missingValues) err() error {
	errs := append([]error(nil), m.errs...)
	if len(m.names) > 0 {
		var b strings.Builder
		b.WriteString("values known only after apply need a values file (--values FILE) mapping them:\n")
		for _, n := range m.names {
			fmt.Fprintf(&b, "  %s: %s\n", n, m.why[n])
		}
		b.WriteString("a values file for them:\nvalues:\n")
		for _, n := range m.names {
			fmt.Fprintf(&b, "  %q: \"...\"\n", n)
		}
		errs = append(errs, errors.New(strings.TrimSuffix(b.String(), "\n")))
	}
	return errors.Join(errs...)
}
