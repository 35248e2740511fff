package authorizer

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// FuzzTagsEncodeAsEncodingJSON: the hand-written tag encoding writes the bytes encoding/json
// writes for a []Tag, in Decision.Context (json.Marshal) and in the decision log (slog's JSON
// handler, which does not escape HTML), and slog's text handler prints a tagList as a []Tag.
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
		for _, handler := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler {
				return slog.NewJSONHandler(b, &slog.HandlerOptions{ReplaceAttr: dropTime})
			},
			func(b *bytes.Buffer) slog.Handler {
				return slog.NewTextHandler(b, &slog.HandlerOptions{ReplaceAttr: dropTime})
			},
		} {
			var before, after bytes.Buffer
			slog.New(handler(&before)).Info("m", slog.Any("tags", tags))
			slog.New(handler(&after)).Info("m", slog.Any("tags", tagList(tags)))
			if before.String() != after.String() {
				t.Errorf("logged as a tagList: %s as a []Tag: %s", after.String(), before.String())
			}
		}
	})
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
