package gateway

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

// The shipped configurations: seed (the tutorial's HTTP API, as written) and reference (the
// corrected REST API with a WWW-Authenticate challenge).
//
//go:embed configs/*.yaml
var shippedFS embed.FS

// ShippedConfigs lists the names of the shipped configurations.
func ShippedConfigs() []string {
	entries, _ := shippedFS.ReadDir("configs")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// ShippedConfigYAML is the YAML text of a shipped configuration.
func ShippedConfigYAML(name string) ([]byte, error) {
	data, err := shippedFS.ReadFile(path.Join("configs", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("gateway: no shipped config %q (shipped: %s)", name, strings.Join(ShippedConfigs(), ", "))
	}
	return data, nil
}

// ShippedConfig decodes and validates a shipped configuration ("seed" or "reference").
func ShippedConfig(name string) (*Config, error) {
	data, err := ShippedConfigYAML(name)
	if err != nil {
		return nil, err
	}
	return ParseConfig(name+".yaml", data)
}
