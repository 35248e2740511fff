package framework

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mcpsso/mcpsso/internal/probe"
)

// probedTarget is a target that declares its own probes.
type probedTarget struct {
	NullTarget
	probes *Probes
}

func (probedTarget) Name() string                                  { return "probed" }
func (probedTarget) MCPURL() string                                { return "http://127.0.0.1:1/mcp" }
func (probedTarget) Users() []User                                 { return nil }
func (probedTarget) Token(context.Context, string) (string, error) { return "", ErrNotSupported }
func (probedTarget) Capabilities() []Capability                    { return nil }
func (p probedTarget) Probes() *Probes                             { return p.probes }

func TestProbeCallIsTheTargetsToolWithItsArguments(t *testing.T) {
	read := &probe.Probe{Tool: "read_file", Arguments: map[string]any{"uri": "{uri}", "mode": "text"}}
	SetCurrent(probedTarget{probes: &Probes{Read: read}})
	defer SetCurrent(nil)
	var call struct {
		Method string `json:"method"`
		Params struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(ProbeCall(OpRead, ProbeVars{Bucket: "b", Key: "k.txt"})), &call); err != nil {
		t.Fatal(err)
	}
	if call.Method != "tools/call" || call.Params.Name != "read_file" || call.Params.Arguments["uri"] != "s3://b/k.txt" || call.Params.Arguments["mode"] != "text" {
		t.Fatalf("ProbeCall = %+v", call)
	}
	// Undeclared: the reference server's tool, for requests judged by their refusal.
	if err := json.Unmarshal([]byte(ProbeCall(OpWhoami, ProbeVars{})), &call); err != nil || call.Params.Name != "whoami" {
		t.Fatalf("ProbeCall of an undeclared whoami = %+v, %v", call, err)
	}
}

func TestCheckProbesAsksNothingOfATargetWithoutAMappedUser(t *testing.T) {
	// No user with a tenant: nothing to list the tools as, so no verdict either way.
	if err := CheckProbes(context.Background(), probedTarget{probes: ReferenceProbes()}); err != nil {
		t.Fatal(err)
	}
}
