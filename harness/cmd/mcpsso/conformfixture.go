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

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/harness/stack"
	"github.com/mcpsso/mcpsso/internal/scenarios/framework"
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

// sources maps the policy labels of the engine's explanations ("trust policy of role R",
// "inline policy P of role R", "bucket policy of B") and the ARNs and names of roles and
// buckets to the IaC addresses of the fixture's objects.
type sources struct {
	policies []labelled // the policies: what decided
	owners   []labelled // roles and buckets: what a decision was about
}

type labelled struct {
	labels       []string
	what, source string
}

func fixtureSources(f *fixture.Fixture) sources {
	var s sources
	for _, r := range f.Roles {
		arn := f.RoleARN(r.Account, r.Name)
		s.owners = append(s.owners, labelled{[]string{arn, "role " + r.Name + " "}, "role", r.Source})
		s.policies = append(s.policies, labelled{[]string{"trust policy of role " + r.Name}, "trust policy of role " + r.Name, r.Trust.Source})
		for _, p := range r.Inline {
			s.policies = append(s.policies, labelled{[]string{"inline policy " + p.Name + " of role " + r.Name, "role policy " + p.Name + " "},
				"policy " + p.Name + " of role " + r.Name, p.Source})
		}
	}
	for _, b := range f.Buckets {
		s.owners = append(s.owners, labelled{[]string{"arn:aws:s3:::" + b.Name, "s3://" + b.Name}, "bucket " + b.Name, b.Source})
		if b.Policy != nil {
			s.policies = append(s.policies, labelled{[]string{"bucket policy of " + b.Name + " "}, "bucket policy of " + b.Name, b.Policy.Source})
		}
	}
	return s
}

// about lists the addresses a decision's explanation names: the policies it names (policy
// true), else the roles and buckets it concerns.
func (s sources) about(d decision) (hit []string, policy bool) {
	text := d.reason + " "
	match := func(list []labelled) []string {
		var out []string
		for _, l := range list {
			if l.source == "" {
				continue
			}
			for _, label := range l.labels {
				if strings.Contains(text, label) || d.role == label {
					out = append(out, l.what+": "+l.source)
					break
				}
			}
		}
		return out
	}
	if hit := match(s.policies); len(hit) > 0 {
		return hit, true
	}
	return match(s.owners), false
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
		if reason == "" || reason == "ok" { // "ok": a credential handed out, not a policy decision
			continue
		}
		d := decision{reason: reason}
		ts, _ := m["time"].(string)
		d.at, _ = time.Parse(time.RFC3339Nano, ts)
		d.action, _ = m["action"].(string)
		if d.action == "" {
			continue // not an AWS request (the authorizer's own decisions)
		}
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
		var addrs, owners, why []string
		for _, d := range logs {
			if d.at.Before(w[0]) || d.at.After(w[1]) {
				continue
			}
			hit, policy := src.about(d)
			if len(hit) == 0 {
				continue
			}
			into := &owners
			if policy {
				into = &addrs
			}
			for _, h := range hit {
				if !slices.Contains(*into, h) {
					*into = append(*into, h)
				}
			}
			if !slices.ContainsFunc(why, func(w string) bool { return strings.HasSuffix(w, ": "+d.reason) }) {
				why = append(why, strings.TrimSpace(d.action+" "+d.decision)+": "+d.reason)
			}
		}
		if len(addrs) == 0 {
			addrs = owners // no policy named: the resources the decisions were about
		}
		for _, a := range addrs {
			results[i].Entries = append(results[i].Entries, "IaC: "+a)
		}
		for _, y := range why {
			results[i].Entries = append(results[i].Entries, "decided: "+y)
		}
	}
	return results
}
