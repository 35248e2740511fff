package query

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
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

// FuzzParseFormAgreesWithURLParseQuery holds the single-pass form parser to url.ParseQuery:
// whatever it takes, it reads as url.ParseQuery does, and it leaves to url.ParseQuery only
// what that refuses (or has very many parameters).
func FuzzParseFormAgreesWithURLParseQuery(f *testing.F) {
	f.Add("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&Tags.member.1.Key=a+b&Version=2011-06-15")
	f.Add("a=1&a=2&&=x&b&c=%41%4a%4A+&d=%zz")
	f.Add("a=1;b=2")
	f.Add("%=&=%&%4=&x=%4")
	f.Fuzz(func(t *testing.T, body string) {
		want, wantErr := url.ParseQuery(body)
		params, ok := parseForm(body, nil)
		if !ok {
			if wantErr == nil && strings.Count(body, "&") < maxFormParams {
				t.Fatalf("parseForm refused %q, which url.ParseQuery reads as %v", body, want)
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("parseForm took %q, which url.ParseQuery refuses: %v", body, wantErr)
		}
		got := url.Values{}
		for _, p := range params {
			got[p.name] = append(got[p.name], p.value)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: parseForm read %v, url.ParseQuery %v", body, got, want)
		}
	})
}

// FuzzParseAgreesWithReference holds Parse and the readers to the decoding they replaced
// (url.ParseQuery into a map, a regular expression for list members): the same parameters,
// the same errors (the code; the message too where the old decoding's was not left to map
// order), the same lists and structures, the same unknown parameter.
func FuzzParseAgreesWithReference(f *testing.F) {
	f.Add("Action=AssumeRole&Version=2011-06-15&Tags.member.1.Key=a&Tags.member.1.Value=b&TransitiveTagKeys.member.1=a&DurationSeconds=900", "")
	f.Add("Action=X&Tags.member.2.Key=a&Tags=&TransitiveTagKeys.member.01=x", "Version=1")
	f.Add("Action=X&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.1.Nope=c&Tags.member.10000.Key=z", "X-Amz-Date=1&Action=Y")
	f.Add("Action=X&=1&TransitiveTagKeys.member.1.x=1&Tags.member.1.Key=a\nb", "")
	f.Add("Action=X&RoleArn=arn&Flag=true", "Flag=maybe")
	f.Add("Action=X&DurationSeconds=abc&Flag=maybe", "")
	f.Fuzz(func(t *testing.T, body, rawQuery string) {
		newReq := func() *http.Request {
			r := post(body)
			r.URL.RawQuery = rawQuery
			return r
		}
		got, gotErr := Parse(newReq())
		want, wantErr := refParse(newReq())
		if !sameError(t, "Parse", gotErr, wantErr, false) || gotErr != nil {
			return
		}
		if got.Action != want.Action || got.Version != want.Version {
			t.Fatalf("Action, Version: got %q %q, want %q %q", got.Action, got.Version, want.Action, want.Version)
		}
		allOK := true
		gotTags, err1 := got.Structs("Tags", "Key", "Value")
		wantTags, err2 := want.Structs("Tags", "Key", "Value")
		allOK = sameError(t, "Structs", err1, err2, true) && allOK
		if err1 == nil && !reflect.DeepEqual(gotTags, wantTags) {
			t.Fatalf("Structs: got %v, want %v", gotTags, wantTags)
		}
		gotKeys, err1 := got.List("TransitiveTagKeys")
		wantKeys, err2 := want.List("TransitiveTagKeys")
		allOK = sameError(t, "List", err1, err2, true) && allOK
		if err1 == nil && !reflect.DeepEqual(gotKeys, wantKeys) {
			t.Fatalf("List: got %#v, want %#v", gotKeys, wantKeys)
		}
		n1, ok1, err1 := got.Int("DurationSeconds")
		n2, ok2, err2 := want.Int("DurationSeconds")
		sameError(t, "Int", err1, err2, false)
		if n1 != n2 || ok1 != ok2 {
			t.Fatalf("Int: got %d %v, want %d %v", n1, ok1, n2, ok2)
		}
		s1, err1 := got.Required("RoleArn")
		s2, err2 := want.Required("RoleArn")
		sameError(t, "Required", err1, err2, false)
		if s1 != s2 {
			t.Fatalf("Required: got %q, want %q", s1, s2)
		}
		b1, ok1, err1 := got.Bool("Flag")
		b2, ok2, err2 := want.Bool("Flag")
		sameError(t, "Bool", err1, err2, false)
		if b1 != b2 || ok1 != ok2 {
			t.Fatalf("Bool: got %v %v, want %v %v", b1, ok1, b2, ok2)
		}
		if allOK { // after a failed read the old decoding marked parameters read in map order
			sameError(t, "CheckUnknown", got.CheckUnknown(), want.CheckUnknown(), false)
		}
	})
}

// sameError fails t unless got and want are both nil or both AWS errors with the same code
// and status (and message, unless codeOnly). It reports whether both are nil.
func sameError(t *testing.T, what string, got, want error, codeOnly bool) bool {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Fatalf("%s: got error %v, want %v", what, got, want)
	}
	if got == nil {
		return true
	}
	g, w := awserr.As(got), awserr.As(want)
	if g.Code != w.Code || g.Status != w.Status {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	// A repeated parameter: the old decoding named one of several in map order.
	if !codeOnly && !strings.Contains(w.Message, " is given ") && g.Message != w.Message {
		t.Fatalf("%s: got message %q, want %q", what, g.Message, w.Message)
	}
	return false
}

// appendingResult writes its own XML, as STS's results do.
type appendingResult struct{ Value string }

func (r appendingResult) AppendXML(b []byte) []byte {
	b = append(b, "<Value>"...)
	b = AppendEscaped(b, r.Value)
	return append(b, "</Value>"...)
}

// FuzzWriteResultMatchesEncoder holds the hand-written envelope and AppendEscaped to what
// encoding/xml wrote for the whole response before, byte for byte.
func FuzzWriteResultMatchesEncoder(f *testing.F) {
	f.Add("AssumeRole", "https://sts.amazonaws.com/doc/2011-06-15/", "0c9a4b8e-6f7d", "arn:aws:iam::1:role/r")
	f.Add("GetUser", "a\"b'c&d<e>f", "\t\n\r", "\xff\x00\u2028\ufffdé")
	f.Fuzz(func(t *testing.T, action, xmlns, requestID, value string) {
		if action == "" || !isXMLName(action) {
			return // an action is one of the emulator's names, never the client's text
		}
		for _, result := range []any{nil, struct{ Value string }{value}} {
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			WriteResult(got, action, xmlns, requestID, result)
			refWriteResult(want, action, xmlns, requestID, result)
			if got.Body.String() != want.Body.String() {
				t.Fatalf("got  %s\nwant %s", got.Body, want.Body)
			}
		}
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		WriteResult(got, action, xmlns, requestID, appendingResult{value})
		refWriteResult(want, action, xmlns, requestID, struct{ Value string }{value})
		if got.Body.String() != want.Body.String() {
			t.Fatalf("XMLAppender: got  %s\nwant %s", got.Body, want.Body)
		}
	})
}

func isXMLName(s string) bool {
	for i, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// takenBody is a body already read whole, as SigV4's verification puts one back
// (sigv4.BufferedBody): Parse takes its bytes rather than reading them.
type takenBody struct {
	b     []byte
	taken bool
}

func (t *takenBody) Read([]byte) (int, error) { return 0, errors.New("read instead of taken") }
func (t *takenBody) Close() error             { return nil }
func (t *takenBody) TakeBytes() []byte        { t.taken = true; return t.b }

func TestParseTakesABodyReadAlready(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	body := &takenBody{b: []byte("Action=GetCallerIdentity&Version=2011-06-15")}
	r.Body = body
	p, err := Parse(r)
	if err != nil || !body.taken || p.Action != "GetCallerIdentity" || p.Version != "2011-06-15" {
		t.Fatalf("Parse = %+v, %v (taken %v)", p, err, body.taken)
	}
	r.Body = &takenBody{b: []byte("Action=X&V=" + strings.Repeat("x", MaxBody))}
	var ae *awserr.Error
	if _, err := Parse(r); !errors.As(err, &ae) || ae.Code != "RequestEntityTooLarge" {
		t.Fatalf("a body over MaxBody, taken: %v", err)
	}
}
