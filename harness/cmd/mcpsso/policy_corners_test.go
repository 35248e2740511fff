package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestPolicySimulateAgreesWithEvaluationCorners feeds every row of the policy engine's table
// of evaluation-logic corners (internal/mocks/awsemu/iampolicy/testdata/evaluation-corners.json, each
// row citing the IAM User Guide page it checks) through `mcpsso policy simulate --request -`
// and compares the printed decision, or the exit status 2 for a malformed policy.
func TestPolicySimulateAgreesWithEvaluationCorners(t *testing.T) {
	data, err := os.ReadFile("../../../internal/mocks/awsemu/iampolicy/testdata/evaluation-corners.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Rule    string          `json:"rule"`
		Page    string          `json:"page"`
		Request json.RawMessage `json:"request"`
		Want    string          `json:"want"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("the table has no rows")
	}
	for _, row := range rows {
		t.Run(row.Rule, func(t *testing.T) {
			code, stdout, stderr := execute(t, string(row.Request), "policy", "simulate", "--request", "-")
			if row.Want == "MalformedPolicyDocument" {
				if code != 2 || !strings.Contains(stderr, "MalformedPolicyDocument") {
					t.Fatalf("exit %d, stderr %q: want exit 2 naming MalformedPolicyDocument (%s)", code, stderr, row.Page)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if got := decisionOf(t, stdout); got != row.Want {
				t.Fatalf("simulate decided %s, the table says %s (%s)\n%s", got, row.Want, row.Page, stdout)
			}
		})
	}
}
