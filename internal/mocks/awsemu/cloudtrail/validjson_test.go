package cloudtrail

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzValidJSONAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"roleArn":"arn:aws:iam::1:role/r","tags":[{"key":"a","value":"b"}],"durationSeconds":900}`,
		` null `, `true`, `fals`, `-0.5e+10`, `01`, `-`, `1.`, `1e`, `"\u00e9\ud800"`, `"\x"`, "\"\x01\"", `"\u12"`,
		`{"a":}`, `{"a" 1}`, `[1,]`, `[,1]`, `{,}`, `{"a":1,}`, `[] []`, `{}x`, "\t[\n]\r", "\"\xff\xfe\"", `{"a":[{"b":{}}]}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}
