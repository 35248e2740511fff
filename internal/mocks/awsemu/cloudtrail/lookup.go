package cloudtrail

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
)

// X-Amz-Target prefixes of the CloudTrail JSON 1.1 API. Smithy-generated SDKs (aws-sdk-go-v2,
// the JavaScript v3 and Rust SDKs) send the short service name; botocore-based clients (boto3,
// the AWS CLI) and the older SDKs send the fully qualified one. Both are accepted.
const (
	TargetPrefix          = "CloudTrail_20131101."
	QualifiedTargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
)

// OperationOf returns the CloudTrail operation an X-Amz-Target names ("LookupEvents" for
// "CloudTrail_20131101.LookupEvents"), and whether the target is CloudTrail's at all. The
// emulator's router uses it to dispatch here.
func OperationOf(target string) (string, bool) {
	for _, p := range []string{TargetPrefix, QualifiedTargetPrefix} {
		if op, ok := strings.CutPrefix(target, p); ok && op != "" {
			return op, true
		}
	}
	return "", false
}

const (
	jsonContentType = "application/x-amz-json-1.1"
	defaultMax      = 50
	maxBody         = 1 << 20
	maxAttrValue    = 2000 // AWS's length limit for AttributeValue
)

// Handler serves CloudTrail's LookupEvents from a Store on the JSON 1.1 protocol.
//
// It does not authenticate or authorize: the emulator's router verifies the SigV4 signature
// and authorizes cloudtrail:LookupEvents before dispatching a request whose X-Amz-Target
// is CloudTrail's (OperationOf) here. Other CloudTrail operations are answered with
// UnknownOperationException.
type Handler struct {
	store *Store
	// tokenKey authenticates NextTokens, so a token is accepted only from this handler and
	// only for the query it was issued for.
	tokenKey []byte
}

// NewHandler returns a LookupEvents handler over store, which must not be nil.
func NewHandler(store *Store) *Handler {
	if store == nil {
		panic("cloudtrail: NewHandler: nil store")
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Handler{store: store, tokenKey: key}
}

// apiError is a JSON 1.1 error response.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

// lookupRequest is a validated LookupEvents request.
type lookupRequest struct {
	attrKey, attrValue string // empty when no attribute was given
	start, end         *time.Time
	category           string
	maxResults         int
	nextToken          string
}

// lookupKeys are the attribute keys LookupEvents accepts.
var lookupKeys = []string{"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"}

// decodeLookupEventsRequest parses a LookupEvents body strictly: member names are matched
// exactly and unknown ones are refused, which the SDK never sends (it sends only StartTime,
// EndTime, EventCategory, LookupAttributes, MaxResults and NextToken).
func decodeLookupEventsRequest(body []byte) (lookupRequest, *apiError) {
	req := lookupRequest{maxResults: defaultMax}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil // an empty body is an empty input
	}
	var members map[string]json.RawMessage
	if err := decodeOne(body, &members); err != nil {
		return req, badRequest("SerializationException", "request body is not a JSON object: %v", err)
	}
	for name, raw := range members {
		if string(raw) == "null" {
			continue // absent
		}
		var err *apiError
		switch name {
		case "LookupAttributes":
			err = req.decodeAttributes(raw)
		case "StartTime":
			req.start, err = decodeEpoch(name, raw)
		case "EndTime":
			req.end, err = decodeEpoch(name, raw)
		case "EventCategory":
			if e := decodeOne(raw, &req.category); e != nil {
				err = badRequest("SerializationException", "EventCategory: expected a string: %v", e)
			} else if req.category != "insight" {
				err = badRequest("InvalidEventCategoryException", "EventCategory %q is not valid; the only value is insight", req.category)
			}
		case "MaxResults":
			if n, e := decodeNumber(raw); e != nil {
				err = badRequest("SerializationException", "MaxResults: expected an integer: %v", e)
			} else if v, e := strconv.ParseInt(n.String(), 10, 64); e != nil || v < 1 || v > 50 {
				err = badRequest("InvalidMaxResultsException", "MaxResults %s is not valid; it must be an integer from 1 to 50", n)
			} else {
				req.maxResults = int(v)
			}
		case "NextToken":
			if e := decodeOne(raw, &req.nextToken); e != nil {
				err = badRequest("SerializationException", "NextToken: expected a string: %v", e)
			}
		default:
			err = badRequest("ValidationException", "unknown member %q in LookupEvents request", name)
		}
		if err != nil {
			return req, err
		}
	}
	if req.start != nil && req.end != nil && req.start.After(*req.end) {
		return req, badRequest("InvalidTimeRangeException", "StartTime %s is after EndTime %s",
			req.start.UTC().Format(time.RFC3339Nano), req.end.UTC().Format(time.RFC3339Nano))
	}
	return req, nil
}

func (req *lookupRequest) decodeAttributes(raw json.RawMessage) *apiError {
	var attrs []map[string]json.RawMessage
	if err := decodeOne(raw, &attrs); err != nil {
		return badRequest("SerializationException", "LookupAttributes: expected a list of objects: %v", err)
	}
	switch {
	case len(attrs) == 0:
		return nil
	case len(attrs) > 1:
		return badRequest("InvalidLookupAttributesException", "LookupAttributes has %d attributes; at most one is allowed", len(attrs))
	}
	for name, v := range attrs[0] {
		var dst *string
		switch name {
		case "AttributeKey":
			dst = &req.attrKey
		case "AttributeValue":
			dst = &req.attrValue
		default:
			return badRequest("ValidationException", "unknown member %q in LookupAttributes[0]", name)
		}
		if err := decodeOne(v, dst); err != nil {
			return badRequest("SerializationException", "LookupAttributes[0].%s: expected a string: %v", name, err)
		}
	}
	switch {
	case !contains(lookupKeys, req.attrKey):
		return badRequest("InvalidLookupAttributesException", "AttributeKey %q is not valid; use one of %s", req.attrKey, strings.Join(lookupKeys, ", "))
	case req.attrValue == "" || len(req.attrValue) > maxAttrValue:
		return badRequest("InvalidLookupAttributesException", "AttributeValue for %s must be 1 to %d characters long", req.attrKey, maxAttrValue)
	case req.attrKey == "ReadOnly" && req.attrValue != "true" && req.attrValue != "false":
		return badRequest("InvalidLookupAttributesException", "AttributeValue %q for ReadOnly must be true or false", req.attrValue)
	}
	return nil
}

// decodeEpoch reads a timestamp the way the SDK sends it: epoch seconds, possibly fractional.
func decodeEpoch(name string, raw json.RawMessage) (*time.Time, *apiError) {
	n, err := decodeNumber(raw)
	if err != nil {
		return nil, badRequest("SerializationException", "%s: expected epoch seconds: %v", name, err)
	}
	f, err := n.Float64()
	// Beyond year 9999 a time cannot be printed as RFC 3339, let alone be an event time.
	if err != nil || math.IsNaN(f) || f < -62135596800 || f > 253402300799 {
		return nil, badRequest("ValidationException", "%s %s is not a valid epoch-seconds timestamp", name, n)
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return &t, nil
}

// decodeNumber reads a JSON number; unlike json.Number's decoding it refuses a quoted one.
func decodeNumber(raw json.RawMessage) (json.Number, error) {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '"' {
		return "", errors.New("got a string")
	}
	var n json.Number
	err := decodeOne(raw, &n)
	return n, err
}

// decodeOne decodes exactly one JSON value from b into v, refusing trailing data.
func decodeOne(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// filter turns the request into a Store filter.
func (req *lookupRequest) filter() Filter {
	var f Filter
	switch req.attrKey {
	case "EventId":
		f.EventID = req.attrValue
	case "EventName":
		f.EventName = req.attrValue
	case "ReadOnly":
		ro := req.attrValue == "true"
		f.ReadOnly = &ro
	case "Username":
		f.Username = req.attrValue
	case "ResourceType":
		f.ResourceType = req.attrValue
	case "ResourceName":
		f.ResourceName = req.attrValue
	case "EventSource":
		f.EventSource = req.attrValue
	case "AccessKeyId":
		f.AccessKeyID = req.attrValue
	}
	if req.start != nil {
		f.Start = *req.start
	}
	if req.end != nil {
		f.End = *req.end
	}
	return f
}

// queryHash binds a NextToken to the query it continues (MaxResults may change between pages).
func (req *lookupRequest) queryHash() uint64 {
	h := sha256.New()
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return strconv.FormatInt(t.UnixNano(), 10)
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", req.attrKey, req.attrValue, stamp(req.start), stamp(req.end), req.category)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// A NextToken is base64url(seq ‖ queryHash ‖ HMAC(seq ‖ queryHash)[:16]): the next page holds
// events recorded before seq, so pages stay stable while new events arrive.
func (h *Handler) token(seq, query uint64) string {
	b := binary.BigEndian.AppendUint64(nil, seq)
	b = binary.BigEndian.AppendUint64(b, query)
	m := hmac.New(sha256.New, h.tokenKey)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b)[:32])
}

func (h *Handler) parseToken(tok string, query uint64) (uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 32 {
		return 0, false
	}
	m := hmac.New(sha256.New, h.tokenKey)
	m.Write(b[:16])
	if !hmac.Equal(m.Sum(nil)[:16], b[16:]) || binary.BigEndian.Uint64(b[8:16]) != query {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:8]), true
}

type lookupResponse struct {
	Events    []lookupEvent `json:"Events"`
	NextToken string        `json:"NextToken,omitempty"`
}

type lookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       int64            `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []lookupResource `json:"Resources,omitempty"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

type lookupResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// lookup runs a validated request against the store.
func (h *Handler) lookup(req lookupRequest) (lookupResponse, *apiError) {
	resp := lookupResponse{Events: []lookupEvent{}}
	query := req.queryHash()
	before := uint64(math.MaxUint64)
	if req.nextToken != "" {
		seq, ok := h.parseToken(req.nextToken, query)
		if !ok {
			return resp, badRequest("InvalidNextTokenException", "NextToken is not valid, or was issued for a request with different parameters")
		}
		before = seq
	}
	if req.category == "insight" {
		return resp, nil // the emulator produces no Insights events
	}
	f := req.filter()
	var last uint64
	h.store.scan(func(en *entry) bool {
		if en.seq >= before || en.ev.EventCategory != CategoryManagement || !f.match(en) {
			return true
		}
		if len(resp.Events) == req.maxResults {
			resp.NextToken = h.token(last, query) // there is at least one more
			return false
		}
		resp.Events = append(resp.Events, toLookupEvent(en))
		last = en.seq
		return true
	})
	return resp, nil
}

func toLookupEvent(en *entry) lookupEvent {
	e := &en.ev
	le := lookupEvent{
		EventID:         e.EventID,
		EventName:       e.EventName,
		ReadOnly:        strconv.FormatBool(e.ReadOnly),
		AccessKeyID:     e.UserIdentity.AccessKeyID,
		EventTime:       e.EventTime.Unix(),
		EventSource:     e.EventSource,
		Username:        en.username,
		CloudTrailEvent: string(en.json()),
	}
	for _, r := range e.Resources {
		le.Resources = append(le.Resources, lookupResource{ResourceType: r.Type, ResourceName: r.ARN})
	}
	return le
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := awserr.NewRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	log := h.store.cfg.logger.With("request_id", requestID)

	resp, err := h.serve(r)
	if err != nil {
		log.Info("LookupEvents refused", "error_code", err.code, "reason", err.msg)
		writeError(w, err)
		return
	}
	body, merr := json.Marshal(resp)
	if merr != nil {
		writeError(w, &apiError{http.StatusInternalServerError, "InternalFailure", merr.Error()})
		return
	}
	log.Debug("LookupEvents served", "events", len(resp.Events), "more", resp.NextToken != "")
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (h *Handler) serve(r *http.Request) (lookupResponse, *apiError) {
	if r.Method != http.MethodPost {
		return lookupResponse{}, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "the JSON 1.1 protocol uses POST, not " + r.Method}
	}
	target := r.Header.Get("X-Amz-Target")
	switch op, ok := OperationOf(target); {
	case !ok:
		return lookupResponse{}, badRequest("UnknownOperationException", "X-Amz-Target %q is not a CloudTrail operation", target)
	case op != "LookupEvents":
		return lookupResponse{}, badRequest("UnknownOperationException", "operation %s is not implemented by the emulator; only LookupEvents is", op)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != jsonContentType {
		return lookupResponse{}, badRequest("SerializationException", "Content-Type %q is not valid; use %s", r.Header.Get("Content-Type"), jsonContentType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return lookupResponse{}, badRequest("SerializationException", "reading the request body: %v", err)
	}
	req, aerr := decodeLookupEventsRequest(body)
	if aerr != nil {
		return lookupResponse{}, aerr
	}
	return h.lookup(req)
}

func writeError(w http.ResponseWriter, e *apiError) { WriteJSONError(w, "", e.status, e.code, e.msg) }

// WriteJSONError writes an error of the AWS JSON 1.1 protocol (CloudTrail's and every
// X-Amz-Target service's): {"__type","message"} with the code in X-Amzn-Errortype too.
// requestID may be "".
func WriteJSONError(w http.ResponseWriter, requestID string, status int, code, message string) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, message})
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-Errortype", code)
	if requestID != "" {
		w.Header().Set("X-Amzn-RequestId", requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
