package iampolicy

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// The corners of the IAM User Guide's "Policy evaluation logic" and its subpages (and the
// STS API reference where the guide defers to it), one row each in
// testdata/evaluation-corners.json, each citing the page that states the rule. The rows are
// simulation requests (the JSON contract of `mcpsso policy simulate`), so the CLI's test
// (TestPolicySimulateAgreesWithEvaluationCorners) feeds the same rows through the command.

// cornerRow is one row of testdata/evaluation-corners.json.
type cornerRow struct {
	Rule           string          `json:"rule"`
	Page           string          `json:"page"`
	Request        json.RawMessage `json:"request"`
	Want           string          `json:"want"` // a decision, or "MalformedPolicyDocument"
	ReasonContains string          `json:"reasonContains"`
}

func loadCornerRows(t *testing.T) []cornerRow {
	t.Helper()
	data, err := os.ReadFile("testdata/evaluation-corners.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []cornerRow
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("testdata/evaluation-corners.json: %v", err)
	}
	return rows
}

func TestEvaluationLogicCorners(t *testing.T) {
	rows := loadCornerRows(t)
	if len(rows) < 40 {
		t.Fatalf("only %d rows: the table lost rows", len(rows))
	}
	for _, row := range rows {
		t.Run(row.Rule, func(t *testing.T) {
			if !strings.HasPrefix(row.Page, "https://docs.aws.amazon.com/") {
				t.Fatalf("row cites %q, not an AWS documentation page", row.Page)
			}
			d, err := Simulate(row.Request)
			if row.Want == "MalformedPolicyDocument" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(ie.Problem, "MalformedPolicyDocument") {
					t.Fatalf("want a MalformedPolicyDocument input error, got decision %+v, error %v", d, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Simulate: %v\nrequest: %s", err, row.Request)
			}
			if string(d.Decision) != row.Want {
				t.Fatalf("decision %s, want %s (%s)\nreason: %s\nrequest: %s", d.Decision, row.Want, row.Page, d.Reason, row.Request)
			}
			if row.ReasonContains != "" && !strings.Contains(d.Reason, row.ReasonContains) {
				t.Errorf("reason %q does not say %q", d.Reason, row.ReasonContains)
			}
			if d.Decision == Allowed && len(d.Matched) == 0 && !strings.Contains(d.Reason, "needs no permission") {
				t.Errorf("an Allow names no granting statement: %+v", d)
			}
		})
	}
}
