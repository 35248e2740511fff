package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/harness/fixture"
	"github.com/mcpsso/mcpsso/harness/stack"
	"github.com/mcpsso/mcpsso/scenarios/framework"
)

// fixtureSuites are the suites conform --fixture runs: the ones the fixture's policies decide.
const fixtureSuites = "trust || abac || spoofing"

// fixtureFilter checks the flags --fixture goes with and narrows the run to fixtureSuites.
func fixtureFilter(cmd *cobra.Command, f conformFlags, filter string) (string, error) {
	switch {
	case f.target != "embedded":
		return "", fmt.Errorf("--fixture needs the embedded target (the kit's stack deploys the fixture), not %q", f.target)
	case cmd.Flags().Changed("profile"):
		return "", errors.New("--fixture and --profile: the fixture's policies are its own (inline), and the kit's components are the reference ones, so --profile does not apply")
	case f.tier != "":
		return "", errors.New("--fixture and --tier: the fixture's suites (trust, abac, spoofing) are not the auth tier")
	}
	if filter == "" {
		return fixtureSuites, nil
	}
	return "(" + fixtureSuites + ") && (" + filter + ")", nil
}

// sources indexes a fixture's objects by the names AWS's decisions mention, to their IaC
// addresses.
type sources struct {
	byName map[string][]string // role ARN, bucket name -> "what: address"
}

func fixtureSources(f *fixture.Fixture) sources {
	s := sources{byName: map[string][]string{}}
	add := func(key, what, addr string) {
		if addr != "" && !slices.Contains(s.byName[key], what+" "+addr) {
			s.byName[key] = append(s.byName[key], what+" "+addr)
		}
	}
	for _, r := range f.Roles {
		arn := f.RoleARN(r.Account, r.Name)
		add(arn, "role", r.Source)
		add(arn, "trust policy", r.Trust.Source)
		for _, p := range r.Inline {
			add(arn, "policy "+p.Name, p.Source)
		}
	}
	for _, b := range f.Buckets {
		add(b.Name, "bucket", b.Source)
		if b.Policy != nil {
			add(b.Name, "bucket policy", b.Policy.Source)
		}
	}
	return s
}

// decision is one AWS authorization decision of the emulator's log.
type decision struct {
	at                        time.Time
	action, caller, reason    string
	decision, role, errorCode string
}

func decisions(lines []string) []decision {
	var out []decision
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		reason, _ := m["reason"].(string)
		if reason == "" {
			continue
		}
		d := decision{reason: reason}
		ts, _ := m["time"].(string)
		d.at, _ = time.Parse(time.RFC3339Nano, ts)
		d.action, _ = m["action"].(string)
		d.caller, _ = m["caller"].(string)
		d.decision, _ = m["decision"].(string)
		d.role, _ = m["role_arn"].(string)
		d.errorCode, _ = m["error_code"].(string)
		out = append(out, d)
	}
	return out
}

// withSources adds to each failed spec the IaC addresses of the fixture objects the AWS
// decisions made during it concern, and those decisions' explanations (the policy engine's
// reason, naming the deciding statement).
func withSources(t framework.Target, report types.Report, results []framework.Result) []framework.Result {
	e, ok := t.(interface{ Stack() *stack.Stack })
	if !ok {
		return results
	}
	src := fixtureSources(e.Stack().Fixture())
	logs := decisions(e.Stack().Logs())
	windows := map[string][2]time.Time{}
	for _, sr := range report.SpecReports {
		windows[sr.FullText()] = [2]time.Time{sr.StartTime, sr.EndTime}
	}
	for i, r := range results {
		if r.Outcome != framework.Failed {
			continue
		}
		w, ok := windows[r.Spec]
		if !ok {
			continue
		}
		var addrs, why []string
		for _, d := range logs {
			if d.at.Before(w[0]) || d.at.After(w[1]) {
				continue
			}
			var hit []string
			for key, list := range src.byName {
				if strings.Contains(d.reason, key) || d.role == key {
					hit = append(hit, list...)
				}
			}
			if len(hit) == 0 {
				continue
			}
			for _, h := range hit {
				if !slices.Contains(addrs, h) {
					addrs = append(addrs, h)
				}
			}
			line := d.action + " " + d.decision + ": " + d.reason
			if !slices.Contains(why, line) {
				why = append(why, line)
			}
		}
		slices.Sort(addrs)
		for _, a := range addrs {
			results[i].Entries = append(results[i].Entries, "IaC: "+a)
		}
		for _, y := range why {
			results[i].Entries = append(results[i].Entries, "decided: "+y)
		}
	}
	return results
}
