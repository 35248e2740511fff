package query

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mcpsso/mcpsso/mocks/awsemu/awserr"
)

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestParseReadsScalarsListsAndStructs(t *testing.T) {
	p, err := Parse(post("Action=AssumeRole&Version=2011-06-15&RoleArn=arn&DurationSeconds=900" +
		"&Tags.member.1.Key=tenant&Tags.member.1.Value=acme&Tags.member.2.Key=team&Tags.member.2.Value=" +
		"&TransitiveTagKeys.member.1=tenant"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != "AssumeRole" || p.Version != "2011-06-15" {
		t.Fatalf("%+v", p)
	}
	if v, _ := p.Required("RoleArn"); v != "arn" {
		t.Fatal(v)
	}
	if n, ok, err := p.Int("DurationSeconds"); n != 900 || !ok || err != nil {
		t.Fatal(n, ok, err)
	}
	tags, err := p.Structs("Tags", "Key", "Value")
	if err != nil || len(tags) != 2 || tags[0]["Key"] != "tenant" || tags[1]["Value"] != "" {
		t.Fatalf("%v %v", tags, err)
	}
	keys, err := p.List("TransitiveTagKeys")
	if err != nil || len(keys) != 1 || keys[0] != "tenant" {
		t.Fatalf("%v %v", keys, err)
	}
	if err := p.CheckUnknown(); err != nil {
		t.Fatal(err)
	}
}

func TestParseRejectsBadInputNamingTheParameter(t *testing.T) {
	for _, tc := range []struct{ name, body, read, code, mention string }{
		{"no Action", "Version=1", "", "MissingAction", "Action"},
		{"a parameter given twice", "Action=A&X=1&X=2", "", "MalformedQueryString", "X"},
		{"bad URL encoding", "Action=A&X=%zz", "", "MalformedQueryString", "URL encoding"},
		{"an unknown parameter", "Action=A&RoleArn=x&Bogus=1", "RoleArn", "InvalidParameter", "Bogus"},
		{"a gap in a member list", "Action=A&TransitiveTagKeys.member.2=x", "list", "ValidationError", "member.1 is missing"},
		{"an unknown struct field", "Action=A&Tags.member.1.Nope=x", "tags", "ValidationError", "Nope"},
		{"a non-integer", "Action=A&DurationSeconds=abc", "int", "ValidationError", "durationSeconds"},
		{"a missing required member", "Action=A", "required", "ValidationError", "roleArn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(post(tc.body))
			if err == nil {
				switch tc.read {
				case "RoleArn":
					p.Get("RoleArn")
					err = p.CheckUnknown()
				case "list":
					_, err = p.List("TransitiveTagKeys")
				case "tags":
					_, err = p.Structs("Tags", "Key", "Value")
				case "int":
					_, _, err = p.Int("DurationSeconds")
				case "required":
					_, err = p.Required("RoleArn")
				}
			}
			var ae *awserr.Error
			if !errors.As(err, &ae) || ae.Code != tc.code || !strings.Contains(ae.Message, tc.mention) {
				t.Fatalf("got %v, want %s mentioning %q", err, tc.code, tc.mention)
			}
		})
	}
}

func TestWriteResultAndErrorShapes(t *testing.T) {
	w := httptest.NewRecorder()
	WriteResult(w, "GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/", "req-1", struct{ Account string }{"111122223333"})
	want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if w.Body.String() != want {
		t.Fatalf("got  %s\nwant %s", w.Body, want)
	}
	w = httptest.NewRecorder()
	WriteError(w, "x", "req-2", awserr.New(403, "AccessDenied", "no <way>"))
	if w.Code != 403 || !strings.Contains(w.Body.String(), "<Type>Sender</Type><Code>AccessDenied</Code><Message>no &lt;way&gt;</Message>") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// FuzzParse: no body makes the decoder panic, and whatever it accepts reads back consistently.
func FuzzParse(f *testing.F) {
	f.Add("Action=AssumeRole&Version=2011-06-15&Tags.member.1.Key=a&Tags.member.1.Value=b&TransitiveTagKeys.member.1=a")
	f.Add("Action=X&A.member.1000.B=c&A.member.0=x")
	f.Add("Action=&&&=&%")
	f.Fuzz(func(t *testing.T, body string) {
		p, err := Parse(post(body))
		if err != nil {
			var ae *awserr.Error
			if !errors.As(err, &ae) || ae.Status < 400 {
				t.Fatalf("error %v is not a 4xx AWS error", err)
			}
			return
		}
		_, _ = p.Structs("Tags", "Key", "Value")
		_, _ = p.List("TransitiveTagKeys")
		_, _, _ = p.Int("DurationSeconds")
		_ = p.CheckUnknown()
	})
}

// Encoders are pooled: a response written after others, concurrently or after a large one,
// is the same document as the first.
func TestWriteResultReusesEncodersCleanly(t *testing.T) {
	type item struct{ Name string }
	write := func(action, id string, result any) string {
		w := httptest.NewRecorder()
		WriteResult(w, action, "urn:x", id, result)
		return w.Body.String()
	}
	first := write("ListThings", "req-1", struct{ Things []item }{[]item{{"a"}, {"b"}}})
	big := make([]item, 5000) // grows an encoder's buffer past what the pool keeps
	for i := range big {
		big[i].Name = strings.Repeat("n", 20)
	}
	_ = write("ListThings", "req-big", struct{ Things []item }{big})
	none := write("DeleteThing", "req-2", nil)
	if want := `<DeleteThingResponse xmlns="urn:x"><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DeleteThingResponse>`; none != want {
		t.Errorf("nil result: got %s\nwant %s", none, want)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := write("ListThings", "req-1", struct{ Things []item }{[]item{{"a"}, {"b"}}}); got != first {
					t.Errorf("got %s\nwant %s", got, first)
					return
				}
			}
		})
	}
	wg.Wait()
}
