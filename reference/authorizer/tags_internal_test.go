package authorizer

import (
	"encoding/json"
	"testing"
)

// FuzzTagsEncodeAsEncodingJSON: the hand-written tag encoding of Decision.Context writes the
// bytes json.Marshal writes for a []Tag.
func FuzzTagsEncodeAsEncodingJSON(f *testing.F) {
	if got := tagsJSON(nil); got != "[]" {
		f.Errorf("tagsJSON(nil) = %s, want []", got)
	}
	for _, s := range []string{"tenant", "acme", "", "a b", "<&>", `"\`, "é", "\u2028", "\x00\n", "\xff", "Ünïcode tag"} {
		f.Add(s, s, true)
	}
	f.Fuzz(func(t *testing.T, key, value string, two bool) {
		tags := []Tag{{Key: key, Value: value}}
		if two {
			tags = append(tags, Tag{Key: value, Value: key})
		}
		want, err := json.Marshal(tags)
		if err != nil {
			t.Fatal(err)
		}
		if got := tagsJSON(tags); got != string(want) {
			t.Errorf("tagsJSON(%q) = %s, json.Marshal: %s", tags, got, want)
		}
	})
}

// FuzzLimitsEncodeAsEncodingJSON: the hand-written limits encoding writes what json.Marshal
// writes.
func FuzzLimitsEncodeAsEncodingJSON(f *testing.F) {
	for _, l := range []Limits{{}, {RequestsPerMinute: 60}, {SessionSeconds: 900}, {RequestsPerMinute: 100000, SessionSeconds: 43200}, {RequestsPerMinute: -1}} {
		f.Add(l.RequestsPerMinute, l.SessionSeconds)
	}
	f.Fuzz(func(t *testing.T, rpm, seconds int) {
		l := Limits{RequestsPerMinute: rpm, SessionSeconds: seconds}
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := limitsJSON(l); got != string(want) {
			t.Errorf("limitsJSON(%+v) = %s, json.Marshal: %s", l, got, want)
		}
	})
}
