package query

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
)

// refParams is the Query decoding before the single-pass parser (url.ParseQuery into a map),
// kept as the reference the differential fuzz target holds Parse to.
type refParams struct {
	Action  string
	Version string
	values  url.Values
	used    map[string]bool
}

// refParse decodes a Query request from the form body of a POST (or the query string of a GET).
func refParse(r *http.Request) (*refParams, error) {
	var values url.Values
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			return nil, awserr.New(http.StatusBadRequest, "MalformedQueryString", "could not read the request body: %v", err)
		}
		if len(body) > MaxBody {
			return nil, awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body exceeds %d bytes", MaxBody)
		}
		if values, err = url.ParseQuery(string(body)); err != nil {
			return nil, awserr.New(http.StatusBadRequest, "MalformedQueryString", "the form body is not valid URL encoding: %v", err)
		}
		// Presigned or query-string parameters may accompany a POST; they count too.
		for k, v := range r.URL.Query() {
			if !strings.HasPrefix(k, "X-Amz-") {
				values[k] = append(values[k], v...)
			}
		}
	case http.MethodGet:
		values = url.Values{}
		for k, v := range r.URL.Query() {
			if !strings.HasPrefix(k, "X-Amz-") {
				values[k] = v
			}
		}
	default:
		return nil, awserr.New(http.StatusMethodNotAllowed, "InvalidAction", "the Query protocol takes GET or POST, not %s", r.Method)
	}
	for k, v := range values {
		if len(v) > 1 {
			return nil, awserr.New(http.StatusBadRequest, "MalformedQueryString", "parameter %s is given %d times", k, len(v))
		}
	}
	p := &refParams{values: values, used: map[string]bool{"Action": true, "Version": true}}
	p.Action = values.Get("Action")
	p.Version = values.Get("Version")
	if p.Action == "" {
		return nil, awserr.New(http.StatusBadRequest, "MissingAction", "Missing Action")
	}
	return p, nil
}

// Get returns a parameter and whether it was given.
func (p *refParams) Get(name string) (string, bool) {
	p.used[name] = true
	v, ok := p.values[name]
	if !ok {
		return "", false
	}
	return v[0], true
}

// Required returns a parameter or the ValidationError AWS gives for a missing member.
func (p *refParams) Required(name string) (string, error) {
	v, ok := p.Get(name)
	if !ok {
		return "", awserr.Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

// Int returns an integer parameter; ok is false when it was not given.
func (p *refParams) Int(name string) (n int, ok bool, err error) {
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
func (p *refParams) Bool(name string) (b, ok bool, err error) {
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

var refMemberIndex = regexp.MustCompile(`^member\.([1-9][0-9]{0,3})(\.(.+))?$`)

// List returns the list name.member.1, name.member.2, … in order. Gaps are an error, as is an
// index past 1000.
func (p *refParams) List(name string) ([]string, error) {
	items, err := p.members(name, "")
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it[""]
	}
	return out, nil
}

// Structs returns the list of structures name.member.N.<field>, each as a map of its fields.
// A field not in fields is an error naming it.
func (p *refParams) Structs(name string, fields ...string) ([]map[string]string, error) {
	return p.members(name, strings.Join(fields, ","))
}

func (p *refParams) members(name, fields string) ([]map[string]string, error) {
	// The SDK sends an empty list as a bare "Name=" with no members.
	if v, ok := p.values[name]; ok {
		p.used[name] = true
		if v[0] != "" {
			return nil, awserr.Validation("parameter %s is a list: give %s.member.1, %s.member.2, …", name, name, name)
		}
	}
	allowed := map[string]bool{}
	for _, f := range strings.Split(fields, ",") {
		allowed[f] = true
	}
	byIndex := map[int]map[string]string{}
	prefix := name + "."
	for k, v := range p.values {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		p.used[k] = true
		m := refMemberIndex.FindStringSubmatch(rest)
		if m == nil {
			return nil, awserr.Validation("parameter %s is not of the form %s.member.N%s", k, name, map[bool]string{true: "", false: ".<Field>"}[fields == ""])
		}
		idx, _ := strconv.Atoi(m[1])
		field := m[3]
		if !allowed[field] {
			if fields == "" {
				return nil, awserr.Validation("parameter %s: %s is a list of strings, not of structures", k, name)
			}
			return nil, awserr.Validation("parameter %s: %s has no field %q (fields: %s)", k, name, field, fields)
		}
		if byIndex[idx] == nil {
			byIndex[idx] = map[string]string{}
		}
		byIndex[idx][field] = v[0]
	}
	idxs := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	out := make([]map[string]string, len(idxs))
	for i, idx := range idxs {
		if idx != i+1 {
			return nil, awserr.Validation("%s.member.%d is missing: list members are numbered from 1 without gaps", name, i+1)
		}
		out[i] = byIndex[idx]
	}
	return out, nil
}

// CheckUnknown returns an error naming the first parameter no reader asked for.
func (p *refParams) CheckUnknown() error {
	var unknown []string
	for k := range p.values {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return awserr.New(http.StatusBadRequest, "InvalidParameter", "parameter %s is not a parameter of %s", unknown[0], p.Action)
}

// refWriteResult is WriteResult before the envelope was written by hand: it writes <ActionResponse xmlns=…><ActionResult>result</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>. A nil result omits the
// Result element, as AWS does for actions that return nothing.
func refWriteResult(w http.ResponseWriter, action, xmlns, requestID string, result any) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	x := resultEncoders.Get().(*resultEncoder)
	enc := x.enc
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}}}
	_ = enc.EncodeToken(start)
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			panic(fmt.Sprintf("query: cannot encode %s result: %v", action, err)) // a programming error
		}
	}
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(start.End())
	_ = enc.Flush()
	_, _ = w.Write(x.buf.Bytes())
	x.release()
}
