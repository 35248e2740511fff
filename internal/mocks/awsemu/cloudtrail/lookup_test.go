package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
)

func newClient(t *testing.T, s *Store) *sdk.Client {
	t.Helper()
	srv := httptest.NewServer(NewHandler(s))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return sdk.NewFromConfig(cfg, func(o *sdk.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func attr(k types.LookupAttributeKey, v string) []types.LookupAttribute {
	return []types.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}
}

func names(events []types.Event) string {
	var n []string
	for _, e := range events {
		n = append(n, aws.ToString(e.EventName))
	}
	return strings.Join(n, ",")
}

func TestLookupEventsFiltersWithTheSDK(t *testing.T) {
	client := newClient(t, seededStore(t))
	tests := []struct {
		name  string
		input sdk.LookupEventsInput
		want  string
	}{
		{"no attribute returns management events newest first", sdk.LookupEventsInput{}, "GetCallerIdentity,ListBuckets,AssumeRole,AssumeRole"},
		{"EventName selects allowed and denied calls alike", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "AssumeRole")}, "AssumeRole,AssumeRole"},
		{"Username selects an assumed role by session name", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyUsername, "ecs-task-1")}, "AssumeRole,AssumeRole"},
		{"Username selects an IAM user by user name", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyUsername, "admin")}, "ListBuckets"},
		{"AccessKeyId selects the caller's key", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyAccessKeyId, "AKIAROOT")}, "GetCallerIdentity"},
		{"ResourceName selects events on the role ARN", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyResourceName, userRoleArn)}, "AssumeRole,AssumeRole"},
		{"ResourceType selects events on that type", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyResourceType, "AWS::IAM::Role")}, "AssumeRole,AssumeRole"},
		{"EventSource selects a service", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventSource, "sts.amazonaws.com")}, "GetCallerIdentity,AssumeRole,AssumeRole"},
		{"ReadOnly false selects writes", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyReadOnly, "false")}, "AssumeRole,AssumeRole"},
		{"data events are not returned, as in AWS", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyResourceName, "arn:aws:s3:::acme-data")}, ""},
		{"a value that matches nothing returns no events", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "DeleteBucket")}, ""},
		{"the insight category returns no events", sdk.LookupEventsInput{EventCategory: types.EventCategoryInsight}, ""},
		{"a time range is inclusive at both ends", sdk.LookupEventsInput{StartTime: aws.Time(t0.Add(time.Minute)), EndTime: aws.Time(t0.Add(3 * time.Minute))}, "ListBuckets,AssumeRole"},
		{"a fractional start time excludes the event in its second", sdk.LookupEventsInput{StartTime: aws.Time(t0.Add(3*time.Minute + 500*time.Millisecond))}, "GetCallerIdentity"},
		{"an end time alone bounds from above", sdk.LookupEventsInput{EndTime: aws.Time(t0.Add(59 * time.Second))}, "AssumeRole"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.LookupEvents(t.Context(), &tc.input)
			if err != nil {
				t.Fatalf("LookupEvents: %v", err)
			}
			if got := names(out.Events); got != tc.want {
				t.Errorf("events = %q, want %q", got, tc.want)
			}
			if out.NextToken != nil {
				t.Errorf("NextToken = %q on the only page", *out.NextToken)
			}
		})
	}
}

func TestLookupEventsReturnsTheFullRecord(t *testing.T) {
	s := seededStore(t)
	client := newClient(t, s)
	out, err := client.LookupEvents(t.Context(), &sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "AssumeRole"), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 {
		t.Fatalf("got %d events, want 1", len(out.Events))
	}
	got := out.Events[0]
	stored := s.Events(Filter{EventID: aws.ToString(got.EventId)})
	if len(stored) != 1 {
		t.Fatalf("EventId %s is not in the store", aws.ToString(got.EventId))
	}
	want := stored[0]
	if aws.ToString(got.ReadOnly) != "false" || aws.ToString(got.AccessKeyId) != "ASIATASKKEY" || aws.ToString(got.Username) != "ecs-task-1" ||
		aws.ToString(got.EventSource) != "sts.amazonaws.com" || !aws.ToTime(got.EventTime).Equal(t0.Add(time.Minute)) {
		t.Errorf("summary = ReadOnly %s AccessKeyId %s Username %s EventSource %s EventTime %v",
			aws.ToString(got.ReadOnly), aws.ToString(got.AccessKeyId), aws.ToString(got.Username), aws.ToString(got.EventSource), aws.ToTime(got.EventTime))
	}
	if len(got.Resources) != 1 || aws.ToString(got.Resources[0].ResourceType) != "AWS::IAM::Role" || aws.ToString(got.Resources[0].ResourceName) != userRoleArn {
		t.Errorf("Resources = %+v, want the role", got.Resources)
	}
	wantJSON, _ := json.Marshal(want)
	if aws.ToString(got.CloudTrailEvent) != string(wantJSON) {
		t.Errorf("CloudTrailEvent\n got %s\nwant %s", aws.ToString(got.CloudTrailEvent), wantJSON)
	}
	var rec struct {
		ErrorCode    string `json:"errorCode"`
		UserIdentity struct {
			SessionContext struct {
				SessionIssuer struct{ Arn string } `json:"sessionIssuer"`
			} `json:"sessionContext"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(got.CloudTrailEvent)), &rec); err != nil || rec.ErrorCode != "AccessDenied" || rec.UserIdentity.SessionContext.SessionIssuer.Arn != taskRoleArn {
		t.Errorf("CloudTrailEvent parsed to %+v (%v), want the denied call by the task role", rec, err)
	}
}

func TestLookupEventsPaginates(t *testing.T) {
	s, _ := NewStore()
	const total = 120
	for i := range total {
		_, _ = s.Record(Event{EventSource: "s3.amazonaws.com", EventName: fmt.Sprintf("Op%03d", i), EventTime: t0.Add(time.Duration(i) * time.Second)})
	}
	client := newClient(t, s)
	p := sdk.NewLookupEventsPaginator(client, &sdk.LookupEventsInput{StartTime: aws.Time(t0)})
	var sizes []int
	var all []types.Event
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("page %d: %v", len(sizes)+1, err)
		}
		if len(sizes) == 0 {
			// Events recorded while paging do not shift later pages.
			_, _ = s.Record(Event{EventSource: "s3.amazonaws.com", EventName: "Late", EventTime: t0.Add(time.Hour)})
		}
		sizes = append(sizes, len(page.Events))
		all = append(all, page.Events...)
	}
	if fmt.Sprint(sizes) != "[50 50 20]" {
		t.Errorf("page sizes %v, want [50 50 20]", sizes)
	}
	for i, e := range all {
		if want := fmt.Sprintf("Op%03d", total-1-i); aws.ToString(e.EventName) != want {
			t.Fatalf("event %d is %s, want %s (every event once, newest first)", i, aws.ToString(e.EventName), want)
		}
	}

	small := sdk.NewLookupEventsPaginator(client, &sdk.LookupEventsInput{
		LookupAttributes: attr(types.LookupAttributeKeyEventSource, "s3.amazonaws.com"), MaxResults: aws.Int32(7)})
	pages, n := 0, 0
	for small.HasMorePages() {
		page, err := small.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages, n = pages+1, n+len(page.Events)
	}
	if pages != 18 || n != total+1 {
		t.Errorf("MaxResults 7 gave %d events in %d pages, want %d in 18", n, pages, total+1)
	}
}

func TestLookupEventsErrorsWithTheSDK(t *testing.T) {
	s := seededStore(t)
	client := newClient(t, s)
	first, err := client.LookupEvents(t.Context(), &sdk.LookupEventsInput{MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v %v", first, err)
	}
	tok := first.NextToken
	two := append(attr(types.LookupAttributeKeyEventName, "AssumeRole"), attr(types.LookupAttributeKeyUsername, "ecs-task-1")...)
	tests := []struct {
		name  string
		input sdk.LookupEventsInput
		want  string // the modeled exception type the SDK returns
	}{
		{"two lookup attributes are refused", sdk.LookupEventsInput{LookupAttributes: two}, "InvalidLookupAttributesException"},
		{"an unknown attribute key is refused", sdk.LookupEventsInput{LookupAttributes: attr("UserName", "x")}, "InvalidLookupAttributesException"},
		{"an empty attribute value is refused", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, "")}, "InvalidLookupAttributesException"},
		{"a ReadOnly value other than true or false is refused", sdk.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyReadOnly, "yes")}, "InvalidLookupAttributesException"},
		{"a start time after the end time is refused", sdk.LookupEventsInput{StartTime: aws.Time(t0.Add(time.Second)), EndTime: aws.Time(t0)}, "InvalidTimeRangeException"},
		{"MaxResults 0 is refused", sdk.LookupEventsInput{MaxResults: aws.Int32(0)}, "InvalidMaxResultsException"},
		{"MaxResults 51 is refused", sdk.LookupEventsInput{MaxResults: aws.Int32(51)}, "InvalidMaxResultsException"},
		{"a forged NextToken is refused", sdk.LookupEventsInput{NextToken: aws.String("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}, "InvalidNextTokenException"},
		{"a NextToken that is not base64 is refused", sdk.LookupEventsInput{NextToken: aws.String("not a token!")}, "InvalidNextTokenException"},
		{"a NextToken reused with other parameters is refused", sdk.LookupEventsInput{NextToken: tok, LookupAttributes: attr(types.LookupAttributeKeyEventName, "AssumeRole")}, "InvalidNextTokenException"},
		{"an unknown event category is refused", sdk.LookupEventsInput{EventCategory: "management"}, "InvalidEventCategoryException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.LookupEvents(t.Context(), &tc.input)
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("LookupEvents error = %v, want an API error", err)
			}
			if got := fmt.Sprintf("%T", api); got != "*types."+tc.want {
				t.Errorf("LookupEvents error = %s %v, want *types.%s", got, err, tc.want)
			}
			if api.ErrorMessage() == "" {
				t.Error("error has no message")
			}
		})
	}

	// The same token with the same parameters continues.
	if _, err := client.LookupEvents(t.Context(), &sdk.LookupEventsInput{MaxResults: aws.Int32(10), NextToken: tok}); err != nil {
		t.Errorf("continuing with the issued token: %v", err)
	}
}

func TestLookupEventsProtocolErrors(t *testing.T) {
	h := NewHandler(seededStore(t))
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		status      int
		code        string
		msgHas      string
	}{
		{"an empty body is an empty request", "POST", TargetPrefix + "LookupEvents", jsonContentType, "", 200, "", ""},
		{"an unknown member is refused by name", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"MaxResult":5}`, 400, "ValidationException", `"MaxResult"`},
		{"a member in the wrong case is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"maxResults":5}`, 400, "ValidationException", `"maxResults"`},
		{"an unknown member of a lookup attribute is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"x","Extra":1}]}`, 400, "ValidationException", `"Extra"`},
		{"a quoted MaxResults is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"MaxResults":"5"}`, 400, "SerializationException", "MaxResults"},
		{"a fractional MaxResults is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"MaxResults":5.5}`, 400, "InvalidMaxResultsException", "MaxResults"},
		{"a start time as a string is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"StartTime":"2026-11-26T00:00:00Z"}`, 400, "SerializationException", "StartTime"},
		{"a start time past year 9999 is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"StartTime":1e300}`, 400, "ValidationException", "StartTime"},
		{"malformed JSON is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"MaxResults":`, 400, "SerializationException", ""},
		{"trailing data is refused", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{} {}`, 400, "SerializationException", ""},
		{"another content type is refused", "POST", TargetPrefix + "LookupEvents", "application/json", `{}`, 400, "SerializationException", "Content-Type"},
		{"another CloudTrail operation is unknown", "POST", QualifiedTargetPrefix + "CreateTrail", jsonContentType, `{}`, 400, "UnknownOperationException", "CreateTrail"},
		{"a missing target is unknown", "POST", "", jsonContentType, `{}`, 400, "UnknownOperationException", ""},
		{"the short SDK target is accepted", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{}`, 200, "", ""},
		{"the qualified botocore target is accepted", "POST", QualifiedTargetPrefix + "LookupEvents", jsonContentType, `{}`, 200, "", ""},
		{"a target with only the prefix is unknown", "POST", TargetPrefix, jsonContentType, `{}`, 400, "UnknownOperationException", ""},
		{"a GET is refused", "GET", TargetPrefix + "LookupEvents", jsonContentType, "", 405, "UnknownOperationException", ""},
		{"fractional epoch seconds are accepted", "POST", TargetPrefix + "LookupEvents", jsonContentType, `{"StartTime":1.7641263455E9,"EndTime":1764126345.5}`, 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if rec.Header().Get("Content-Type") != jsonContentType || rec.Header().Get("X-Amzn-RequestId") == "" {
				t.Errorf("headers %v, want JSON 1.1 content type and a request id", rec.Header())
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %s", rec.Body)
			}
			if tc.status == http.StatusOK {
				if _, ok := body["Events"].([]any); !ok {
					t.Errorf("body %s has no Events list", rec.Body)
				}
				return
			}
			msg, _ := body["message"].(string)
			if body["__type"] != tc.code || !strings.Contains(msg, tc.msgHas) || msg == "" {
				t.Errorf("error body %s, want __type %s with a message mentioning %s", rec.Body, tc.code, tc.msgHas)
			}
		})
	}
}
