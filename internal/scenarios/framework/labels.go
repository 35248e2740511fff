package framework

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2"
)

// Label is a typed spec label: it becomes a Ginkgo Label and a [Tag] in the spec's name, so a
// report line says what the spec is about and --label-filter selects by it. Only the labels
// declared here exist: a spec built with another one panics when the suite is assembled.
type Label string

// Suite labels and cross-cutting labels.
const (
	Conformance   Label = "conformance"
	Bootstrap     Label = "bootstrap"
	Trust         Label = "trust"
	ABAC          Label = "abac"
	Spoofing      Label = "spoofing"
	Observability Label = "observability"
	Transport     Label = "transport"
	Clients       Label = "clients"
	Adversarial   Label = "adversarial"
	// Tutorial marks a spec that checks one of the tutorial's documented mistakes.
	Tutorial Label = "tutorial"
	// Auth marks the auth-surface tier (`mcpsso conform --tier auth`): a spec that checks an
	// authorization requirement (MCP authorization, RFC 9728, RFC 8414, RFC 8707, OAuth 2.1)
	// and needs none of the deployment's tools to answer (what it sends must be refused before
	// any tool runs), so it runs against a deployment known only by its MCP URL and a way to get
	// a token.
	Auth Label = "auth"
)

// KnownLabels are every label a spec may carry (capability labels are "needs:<capability>").
var KnownLabels = []Label{Conformance, Bootstrap, Trust, ABAC, Spoofing, Observability, Transport, Clients, Adversarial, Tutorial, Auth}

// needs is the decorator of Needs.
type needs Capability

// Needs says a spec needs a capability: on a target without it the spec is skipped with the
// reason, and it carries the label "needs:<capability>".
func Needs(c Capability) any {
	if !slices.Contains(AllCapabilities, c) {
		panic(fmt.Sprintf("framework: unknown capability %q", c))
	}
	return needs(c)
}

// CheckLabelFilter rejects a --label-filter that names a label no spec can carry.
func CheckLabelFilter(filter string) error {
	for _, word := range strings.FieldsFunc(filter, func(r rune) bool { return strings.ContainsRune("&|!(),/ ", r) }) {
		if strings.HasPrefix(word, "needs:") {
			if !slices.Contains(AllCapabilities, Capability(strings.TrimPrefix(word, "needs:"))) {
				return fmt.Errorf("label filter: unknown capability label %q", word)
			}
			continue
		}
		if !slices.Contains(KnownLabels, Label(word)) {
			names := make([]string, len(KnownLabels))
			for i, l := range KnownLabels {
				names[i] = string(l)
			}
			return fmt.Errorf("label filter: unknown label %q (labels: %s, needs:<capability>)", word, strings.Join(names, ", "))
		}
	}
	return nil
}

// split separates typed labels and capability needs from Ginkgo's own arguments.
func split(args []any) (labels []string, caps []Capability, rest []any) {
	for _, a := range args {
		switch v := a.(type) {
		case Label:
			if !slices.Contains(KnownLabels, v) {
				panic(fmt.Sprintf("framework: unknown label %q", v))
			}
			labels = append(labels, string(v))
		case needs:
			caps = append(caps, Capability(v))
			labels = append(labels, "needs:"+string(v))
		default:
			rest = append(rest, a)
		}
	}
	return labels, caps, rest
}

func tags(labels []string) string {
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(" [" + l + "]")
	}
	return b.String()
}

// Describe is a suite's container: ginkgo.Describe with the suite label as a Ginkgo label and a
// [tag] in the name.
func Describe(text string, args ...any) bool {
	labels, caps, rest := split(args)
	if len(caps) > 0 {
		panic("framework: put Needs on specs, not on Describe")
	}
	// Offset(1): the container's location is the suite's call, not this file.
	return ginkgo.Describe(text+tags(labels), append(rest, ginkgo.Label(labels...), ginkgo.Offset(1))...)
}

// It is ginkgo.It with typed labels and capability needs. The body must be a func().
func It(text string, args ...any) bool { return it(1, text, args...) }

// it builds the spec; offset is how many frames above it the suite's own call is, so a failing
// spec's report names the spec's file and line, not this one.
func it(offset int, text string, args ...any) bool {
	labels, caps, rest := split(args)
	wrapped := false
	for i, a := range rest {
		if body, ok := a.(func()); ok {
			rest[i] = func() {
				Require(caps...)
				body()
			}
			wrapped = true
		}
	}
	if len(caps) > 0 && !wrapped {
		// Fail closed: a capability need that could not be enforced must not be ignored.
		panic(fmt.Sprintf("framework: %q uses Needs but its body is not a func(): call Require inside it instead", text))
	}
	return ginkgo.It(text+tags(labels), append(rest, ginkgo.Label(labels...), ginkgo.Offset(offset+1))...)
}

// ConformanceIt is It for a requirement of the pattern: it carries the conformance label.
func ConformanceIt(text string, args ...any) bool {
	return it(1, text, append(args, Conformance)...)
}

// Labels gives a DescribeTable Entry the Ginkgo labels fw.It gives a spec: typed labels (Label)
// as they are and capability labels (Capability) as "needs:<capability>". It panics on a label
// or capability that does not exist. The framework has no Entry of its own, so the entry body
// still calls Require.
func Labels(ls ...any) ginkgo.Labels {
	out := make(ginkgo.Labels, 0, len(ls))
	for _, l := range ls {
		switch v := l.(type) {
		case Label:
			if !slices.Contains(KnownLabels, v) {
				panic(fmt.Sprintf("framework: unknown label %q", v))
			}
			out = append(out, string(v))
		case Capability:
			if !slices.Contains(AllCapabilities, v) {
				panic(fmt.Sprintf("framework: unknown capability %q", v))
			}
			out = append(out, "needs:"+string(v))
		default:
			panic(fmt.Sprintf("framework: Labels: %T is neither a Label nor a Capability", l))
		}
	}
	return out
}

// EntryText is an Entry's description with a [tag] per label, as fw.It names a spec; ls are
// what Labels takes.
func EntryText(text string, ls ...any) string {
	return text + tags(Labels(ls...))
}

// Require skips the running spec, with the reason, when the current target lacks any of caps.
func Require(caps ...Capability) {
	t := Current()
	for _, c := range caps {
		if !Has(t, c) {
			ginkgo.Skip(fmt.Sprintf("target %s does not offer capability %q", t.Name(), c))
		}
	}
}
