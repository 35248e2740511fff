// Package query speaks the AWS Query protocol used by IAM and STS: form-encoded requests
// (Action=…&Version=…&Tags.member.1.Key=…) and XML responses and errors, in the exact shapes
// aws-sdk-go-v2's iam and sts clients parse.
//
// Decoding is strict: every parameter must be consumed by the action that reads it, and
// CheckUnknown reports the first one that was not, so a misspelt parameter is an error rather
// than silently ignored.
package query

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
)

// MaxBody is the largest request body accepted (IAM's largest documents are a few KiB).
const MaxBody = 1 << 20

// Params is one decoded Query request.
type Params struct {
	Action  string
	Version string
	// params are the request's parameters in the order given, each name once (Parse refuses
	// repeats). A Query request has a handful, so a scan beats a map.
	params []param
}

type param struct {
	name, value string
	used        bool // read by the action (Action and Version are read by Parse)
}

// Parse decodes a Query request from the form body of a POST (or the query string of a GET).
func Parse(r *http.Request) (*Params, error) {
	p := &Params{}
	switch r.Method {
	case http.MethodPost:
		body, err := readBody(r.Body)
		if err != nil {
			return nil, awserr.New(http.StatusBadRequest, "MalformedQueryString", "could not read the request body: %v", err)
		}
		if len(body) > MaxBody {
			return nil, awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body exceeds %d bytes", MaxBody)
		}
		var ok bool
		if p.params, ok = parseForm(string(body), p.params); !ok {
			// What the single pass does not take (a semicolon, a bad escape, more parameters
			// than net/url allows) is decided, and worded, by net/url.
			values, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, awserr.New(http.StatusBadRequest, "MalformedQueryString", "the form body is not valid URL encoding: %v", err)
			}
			p.params = appendValues(p.params[:0], values, false)
		}
		// Presigned or query-string parameters may accompany a POST; they count too.
		if r.URL.RawQuery != "" {
			p.params = appendValues(p.params, r.URL.Query(), true)
		}
	case http.MethodGet:
		p.params = appendValues(p.params, r.URL.Query(), true)
	default:
		return nil, awserr.New(http.StatusMethodNotAllowed, "InvalidAction", "the Query protocol takes GET or POST, not %s", r.Method)
	}
	if name, n := p.repeated(); n > 1 {
		return nil, awserr.New(http.StatusBadRequest, "MalformedQueryString", "parameter %s is given %d times", name, n)
	}
	for i := range p.params {
		switch q := &p.params[i]; q.name {
		case "Action":
			p.Action, q.used = q.value, true
		case "Version":
			p.Version, q.used = q.value, true
		}
	}
	if p.Action == "" {
		return nil, awserr.New(http.StatusBadRequest, "MissingAction", "Missing Action")
	}
	return p, nil
}

// readBody reads a form body whole, up to MaxBody+1 bytes.
func readBody(body io.Reader) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	if b, ok := body.(interface{ TakeBytes() []byte }); ok {
		return b.TakeBytes(), nil // read already, by SigV4's verification (sigv4.BufferedBody)
	}
	return io.ReadAll(io.LimitReader(body, MaxBody+1))
}

// maxFormParams is the most parameters parseForm takes: a body with more is left to
// url.ParseQuery, which refuses more than 10 000 (its default; GODEBUG urlmaxqueryparams).
const maxFormParams = 1000

// parseForm appends the parameters of an application/x-www-form-urlencoded body to dst in one
// pass, exactly as url.ParseQuery reads them: pairs split at '&', name and value at the first
// '=', empty pairs skipped, '+' and %XX unescaped (a value without either is a substring of s,
// not a copy). It reports false for what url.ParseQuery refuses or limits (a ';', an invalid
// escape, very many pairs): the caller then asks url.ParseQuery.
func parseForm(s string, dst []param) ([]param, bool) {
	n := strings.Count(s, "&")
	if n >= maxFormParams || strings.IndexByte(s, ';') >= 0 {
		return dst, false
	}
	dst = slices.Grow(dst, n+1)
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		var ok bool
		if name, ok = unescape(name); !ok {
			return dst, false
		}
		if value, ok = unescape(value); !ok {
			return dst, false
		}
		dst = append(dst, param{name: name, value: value})
	}
	return dst, true
}

// unescape decodes a form component as url.QueryUnescape does; false for an invalid escape.
func unescape(s string) (string, bool) {
	i := strings.IndexAny(s, "%+")
	if i < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// appendValues appends values (from net/url) in name order, leaving out X-Amz-* (the
// signature's own parameters) when skipSignature is set.
func appendValues(dst []param, values url.Values, skipSignature bool) []param {
	names := make([]string, 0, len(values))
	for k := range values {
		if !skipSignature || !strings.HasPrefix(k, "X-Amz-") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range values[k] {
			dst = append(dst, param{name: k, value: v})
		}
	}
	return dst
}

// repeated returns the first parameter given more than once and how many times, or n ≤ 1.
func (p *Params) repeated() (name string, n int) {
	if len(p.params) > 32 {
		count := make(map[string]int, len(p.params))
		for _, q := range p.params {
			count[q.name]++
		}
		for _, q := range p.params {
			if count[q.name] > 1 {
				return q.name, count[q.name]
			}
		}
		return "", 0
	}
	for i, q := range p.params {
		n = 1
		for _, o := range p.params[i+1:] {
			if o.name == q.name {
				n++
			}
		}
		if n > 1 {
			return q.name, n
		}
	}
	return "", 0
}

// find is the index of the parameter name, or -1.
func (p *Params) find(name string) int {
	for i := range p.params {
		if p.params[i].name == name {
			return i
		}
	}
	return -1
}

// Get returns a parameter and whether it was given.
func (p *Params) Get(name string) (string, bool) {
	i := p.find(name)
	if i < 0 {
		return "", false
	}
	p.params[i].used = true
	return p.params[i].value, true
}

// Required returns a parameter or the ValidationError AWS gives for a missing member.
func (p *Params) Required(name string) (string, error) {
	v, ok := p.Get(name)
	if !ok {
		return "", awserr.Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

// Int returns an integer parameter; ok is false when it was not given.
func (p *Params) Int(name string) (n int, ok bool, err error) {
	v, ok := p.Get(name)
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil {
		return 0, true, awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", v, lowerFirst(name))
	}
	return n, true, nil
}

// Bool returns a boolean parameter; ok is false when it was not given.
func (p *Params) Bool(name string) (b, ok bool, err error) {
	v, ok := p.Get(name)
	if !ok {
		return false, false, nil
	}
	b, err = strconv.ParseBool(v)
	if err != nil {
		return false, true, awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a boolean", v, lowerFirst(name))
	}
	return b, true, nil
}

// List returns the list name.member.1, name.member.2, … in order. Gaps are an error, as is an
// index past 1000.
func (p *Params) List(name string) ([]string, error) {
	items, err := p.members(name, nil)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out, nil
}

// Structs returns the list of structures name.member.N.<field>, each as a map of its fields.
// A field not in fields is an error naming it.
func (p *Params) Structs(name string, fields ...string) ([]map[string]string, error) {
	items, err := p.members(name, fields)
	if err != nil {
		return nil, err
	}
	out := []map[string]string{}
	for i, it := range items {
		if i == 0 || it.index != items[i-1].index {
			out = append(out, map[string]string{})
		}
		out[len(out)-1][it.field] = it.value
	}
	return out, nil
}

// member is one name.member.<index>[.<field>] parameter.
type member struct {
	index        int
	field, value string
}

// members returns the parameters name.member.N[.field] sorted by N, checking that they are
// numbered from 1 without gaps. fields nil reads a list of strings (no field).
func (p *Params) members(name string, fields []string) ([]member, error) {
	// The SDK sends an empty list as a bare "Name=" with no members.
	if i := p.find(name); i >= 0 {
		p.params[i].used = true
		if p.params[i].value != "" {
			return nil, awserr.Validation("parameter %s is a list: give %s.member.1, %s.member.2, …", name, name, name)
		}
	}
	var out []member
	for i := range p.params {
		q := &p.params[i]
		rest, ok := strings.CutPrefix(q.name, name)
		if !ok || rest == "" || rest[0] != '.' {
			continue
		}
		q.used = true
		idx, field, ok := memberIndex(rest[1:])
		if !ok {
			return nil, awserr.Validation("parameter %s is not of the form %s.member.N%s", q.name, name, map[bool]string{true: "", false: ".<Field>"}[fields == nil])
		}
		if fields == nil && field != "" {
			return nil, awserr.Validation("parameter %s: %s is a list of strings, not of structures", q.name, name)
		}
		if fields != nil && !slices.Contains(fields, field) {
			return nil, awserr.Validation("parameter %s: %s has no field %q (fields: %s)", q.name, name, field, strings.Join(fields, ","))
		}
		out = append(out, member{index: idx, field: field, value: q.value})
	}
	slices.SortStableFunc(out, func(a, b member) int { return a.index - b.index })
	want := 1
	for i, it := range out {
		if i > 0 && it.index == out[i-1].index {
			continue
		}
		if it.index != want {
			return nil, awserr.Validation("%s.member.%d is missing: list members are numbered from 1 without gaps", name, want)
		}
		want++
	}
	return out, nil
}

// memberIndex reads "member.<N>" or "member.<N>.<field>": N from 1 to 9999 without leading
// zeros, a field of at least one character and no line break (the rule the regular expression
// ^member\.([1-9][0-9]{0,3})(\.(.+))?$ states).
func memberIndex(s string) (index int, field string, ok bool) {
	s, ok = strings.CutPrefix(s, "member.")
	if !ok || s == "" || s[0] < '1' || s[0] > '9' {
		return 0, "", false
	}
	n := 1
	for n < len(s) && n < 4 && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	index, _ = strconv.Atoi(s[:n])
	switch rest := s[n:]; {
	case rest == "":
		return index, "", true
	case rest[0] != '.' || len(rest) == 1 || strings.IndexByte(rest, '\n') >= 0:
		return 0, "", false
	default:
		return index, rest[1:], true
	}
}

// CheckUnknown returns an error naming the first parameter (in name order) no reader asked for.
func (p *Params) CheckUnknown() error {
	unknown, found := "", false
	for _, q := range p.params {
		if !q.used && (!found || q.name < unknown) {
			unknown, found = q.name, true
		}
	}
	if !found {
		return nil
	}
	return awserr.New(http.StatusBadRequest, "InvalidParameter", "parameter %s is not a parameter of %s", unknown, p.Action)
}

// Constraint is the ValidationError AWS gives when a member breaks a constraint.
func Constraint(param, value, constraint string) error {
	return awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, lowerFirst(param), constraint)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// WriteResult writes <ActionResponse xmlns=…><ActionResult>result</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>. A nil result omits the
// Result element, as AWS does for actions that return nothing. The envelope is written by
// hand; the result by encoding/xml, or by the result itself when it is an XMLAppender.
func WriteResult(w http.ResponseWriter, action, xmlns, requestID string, result any) {
	// The keys as Header.Set canonicalizes them, set directly: Set copies a key to
	// canonicalize it on every call.
	h := w.Header()
	h["Content-Type"] = []string{"text/xml"}
	h["X-Amzn-Requestid"] = []string{requestID}
	w.WriteHeader(http.StatusOK)
	x := resultEncoders.Get().(*resultEncoder)
	b := x.buf.AvailableBuffer()
	b = append(b, '<')
	b = append(b, action...)
	b = append(b, `Response xmlns="`...)
	b = AppendEscaped(b, xmlns)
	b = append(b, '"', '>')
	switch r := result.(type) {
	case nil:
	case XMLAppender:
		b = append(b, '<')
		b = append(b, action...)
		b = append(b, "Result>"...)
		b = r.AppendXML(b)
		b = append(b, "</"...)
		b = append(b, action...)
		b = append(b, "Result>"...)
	default:
		x.buf.Write(b)
		if err := x.enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			panic(fmt.Sprintf("query: cannot encode %s result: %v", action, err)) // a programming error
		}
		_ = x.enc.Flush()
		b = x.buf.AvailableBuffer()
	}
	b = append(b, "<ResponseMetadata><RequestId>"...)
	b = AppendEscaped(b, requestID)
	b = append(b, "</RequestId></ResponseMetadata></"...)
	b = append(b, action...)
	b = append(b, "Response>"...)
	x.buf.Write(b)
	_, _ = w.Write(x.buf.Bytes())
	x.release()
}

// XMLAppender is a Query result that writes its own XML: the bytes encoding/xml writes for it
// (the elements inside <ActionResult>), without reflection. AppendXML appends them to b.
type XMLAppender interface {
	AppendXML(b []byte) []byte
}

// AppendEscaped appends s escaped as encoding/xml escapes character data and attribute values.
// Printable ASCII without an XML special character is copied as it is; anything else is left
// to xml.EscapeText, which writes the same as the encoder.
func AppendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\'' || c == '&' || c == '<' || c == '>' {
			var esc bytes.Buffer
			_ = xml.EscapeText(&esc, []byte(s)) // a bytes.Buffer does not fail
			return append(b, esc.Bytes()...)
		}
	}
	return append(b, s...)
}

// resultEncoder is an XML encoder writing into its own buffer. Every response of the Query
// protocol is a balanced document, which leaves the encoder ready for the next, so encoders
// are pooled rather than built (with their 4 KiB buffers) per response.
type resultEncoder struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

var resultEncoders = sync.Pool{New: func() any {
	x := &resultEncoder{}
	x.enc = xml.NewEncoder(&x.buf)
	return x
}}

// release returns x to the pool, unless a large response (a long listing) grew its buffer.
func (x *resultEncoder) release() {
	if x.buf.Cap() > 64<<10 {
		return
	}
	x.buf.Reset()
	resultEncoders.Put(x)
}

// WriteError writes the Query protocol's <ErrorResponse>.
func WriteError(w http.ResponseWriter, xmlns, requestID string, e *awserr.Error) {
	typ := "Sender"
	if e.Server {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Error   struct {
			Type    string
			Code    string
			Message string
		}
		RequestID string `xml:"RequestId"`
	}{Xmlns: xmlns, Error: struct{ Type, Code, Message string }{typ, e.Code, e.Message}, RequestID: requestID})
}
