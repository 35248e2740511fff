package cloudtrail

import "testing"

func FuzzLookupEventsRequest(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"AssumeRole"}],"MaxResults":50}`,
		`{"StartTime":1.7641263455E9,"EndTime":1764126345,"NextToken":"abc","EventCategory":"insight"}`,
		`{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"true"},{}]}`,
		`{"MaxResults":"5"}`,
		`{"StartTime":-1e20}`,
		`[]`,
		`{"LookupAttributes":null,"MaxResults":null}`,
	} {
		f.Add([]byte(seed))
	}
	h := NewHandler(seededStoreForFuzz())
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeLookupEventsRequest(body)
		if err != nil {
			if err.code == "" || err.msg == "" || err.status != 400 {
				t.Fatalf("error %+v lacks a code, message or 400 status", err)
			}
			return
		}
		if req.maxResults < 1 || req.maxResults > 50 {
			t.Fatalf("accepted MaxResults %d", req.maxResults)
		}
		if req.start != nil && req.end != nil && req.start.After(*req.end) {
			t.Fatalf("accepted StartTime %v after EndTime %v", req.start, req.end)
		}
		if (req.attrKey == "") != (req.attrValue == "") {
			t.Fatalf("accepted a half lookup attribute %q=%q", req.attrKey, req.attrValue)
		}
		if _, err := h.lookup(req); err != nil && err.code != "InvalidNextTokenException" {
			t.Fatalf("lookup of an accepted request failed: %v", err)
		}
	})
}

func seededStoreForFuzz() *Store {
	s, _ := NewStore()
	_, _ = s.Record(assumeRoleEvent())
	return s
}
