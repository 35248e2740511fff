package s3

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzRequestParametersMatchMarshal holds the hand-written requestParameters of S3 records to
// json.Marshal of the map they stand for.
func FuzzRequestParametersMatchMarshal(f *testing.F) {
	f.Add("127.0.0.1:4566", "bucket", "some/key.txt", "list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=10")
	f.Add("", "", "", "")
	f.Add("h<&>", "b\u2028", "k\"\\\xff", "uploadId=x&versionId=%3C&prefix=&other=1")
	f.Fuzz(func(t *testing.T, host, bucket, key, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host, r.URL.RawQuery = host, rawQuery
		want := map[string]string{"Host": host}
		if bucket != "" {
			want["bucketName"] = bucket
		}
		if key != "" {
			want["key"] = key
		}
		q, _ := url.ParseQuery(rawQuery)
		for _, k := range trailQueryParameters {
			if v := q.Get(k); v != "" {
				want[k] = v
			}
		}
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := requestParameters(r, bucket, key); string(got) != string(wantJSON) {
			t.Fatalf("got  %s\nwant %s", got, wantJSON)
		}
	})
}
