package sigv4

import (
	"testing"
	"time"
)

// The readings the hand-written date parsers replace: time.Parse in the layout, then
// time.Format back to the same text (no missing zero padding, no out-of-range field).
func timeParseAmzDate(v string) (time.Time, bool) {
	t, err := time.Parse(amzDateFormat, v)
	if err != nil || t.Format(amzDateFormat) != v {
		return time.Time{}, false
	}
	return t, true
}

func timeParseScopeDate(v string) bool {
	t, err := time.Parse(scopeDateFormat, v)
	return err == nil && t.Format(scopeDateFormat) == v
}

func FuzzDatesMatchTimeParse(f *testing.F) {
	for _, s := range []string{
		"20261207T084105Z", "20261207", "20240229T000000Z", "20230229T000000Z", "19000229", "20000229", "00000229",
		"20261231T235959Z", "20261207T240000Z", "20261207T236000Z", "20261207T235960Z", "20261307T000000Z", "20260007",
		"20261200", "20260431", "2026127", "2026-12-07", "20261207T084105", "20261207t084105Z", "+0261207", " 0261207",
		"20261207T08410５Z", "99991231T235959Z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := parseAmzDate(v)
		want, wantOK := timeParseAmzDate(v)
		if ok != wantOK || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse says %v, %v", v, got, ok, want, wantOK)
		}
		if _, _, _, ok := scopeDate(v); ok != timeParseScopeDate(v) {
			t.Errorf("scopeDate(%q) = %v; time.Parse says %v", v, ok, !ok)
		}
	})
}
