package awsemu

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
)

// The decision log line is made without LogAttrs, with its call site taken once: a handler
// that writes the source still sees logDecision in router.go, on every line.
func TestDecisionLogSourceIsTheRouter(t *testing.T) {
	var buf bytes.Buffer
	e := &Emulator{log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{AddSource: true}))}
	call := &iam.Call{RequestID: "r1", SourceIP: "127.0.0.1"}
	e.logDecision("sts", "GetCallerIdentity", call, nil)
	e.logDecision("sts", "GetCallerIdentity", call, nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || lines[0] != lines[1] && !sameSource(t, lines[0], lines[1]) {
		t.Fatalf("want two lines with the same source, got %q", lines)
	}
	var line struct {
		Source struct{ Function, File string } `json:"source"`
		Msg    string                          `json:"msg"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(line.Source.Function, "awsemu.(*Emulator).logDecision") || !strings.HasSuffix(line.Source.File, "/router.go") || line.Msg != "aws request" {
		t.Fatalf("source %+v, msg %q: want logDecision in router.go", line.Source, line.Msg)
	}
}

func sameSource(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y struct {
		Source json.RawMessage `json:"source"`
	}
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return len(x.Source) > 0 && string(x.Source) == string(y.Source)
}
