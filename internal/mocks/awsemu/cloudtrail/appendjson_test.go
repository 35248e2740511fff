package cloudtrail

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
)

// FuzzAssumeRoleJSONMatchesMarshal holds the hand-written requestParameters and
// responseElements to json.Marshal of the same values, byte for byte: every field present or
// omitted, strings that need escaping (quotes, HTML characters, control characters, U+2028,
// invalid UTF-8) and ones that do not.
func FuzzAssumeRoleJSONMatchesMarshal(f *testing.F) {
	f.Add("arn:aws:iam::111122223333:role/r", "usr-alice", "usr-alice", "tenant", "acme", "ext", `{"Version":"2012-10-17"}`, 900, int64(1796601600), 3)
	f.Add("", "", "", "", "", "", "", 0, int64(0), 0)
	f.Add("a\"b\\c<d>&e", "\u2028\u2029\x00\x1f\x7f", "\xff\xfe", "k\n", "v\t", "é", "\r", -1, int64(-62135596800), -7)
	f.Fuzz(func(t *testing.T, roleARN, session, sourceIdentity, tagKey, tagValue, externalID, policy string, duration int, expires int64, packed int) {
		params := AssumeRoleParameters{RoleArn: roleARN, RoleSessionName: session, SourceIdentity: sourceIdentity,
			DurationSeconds: duration, ExternalID: externalID, Policy: policy}
		if tagKey != "" {
			params.Tags = []Tag{{Key: tagKey, Value: tagValue}, {Key: tagValue, Value: tagKey}}
			params.TransitiveTagKeys = []string{tagKey, tagValue}
			params.PolicyArns = []PolicyARN{{ARN: roleARN}, {ARN: policy}}
		}
		same(t, params.JSON(), params)
		elems := AssumeRoleResponseElements{PackedPolicySize: packed, SourceIdentity: sourceIdentity}
		same(t, elems.JSON(), elems)
		elems.Credentials = &ResponseCredentials{AccessKeyID: roleARN, SessionToken: tagValue, Expiration: time.Unix(expires, 0)}
		elems.AssumedRoleUser = &AssumedRoleUser{AssumedRoleID: session, ARN: externalID}
		same(t, elems.JSON(), elems)
	})
}

func same(t *testing.T, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestNewUUIDIsARandomVersion4UUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := awserr.NewRequestID(), awserr.NewRequestID()
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Fatalf("%s, %s: want two different version-4 UUIDs", a, b)
	}
}
