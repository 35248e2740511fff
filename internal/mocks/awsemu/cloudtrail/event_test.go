package cloudtrail

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 3, 4, 5, 0, time.UTC)

const (
	acct        = "111122223333"
	taskRoleArn = "arn:aws:iam::111122223333:role/mcp-task-role"
	userRoleArn = "arn:aws:iam::111122223333:role/tenant-acme"
)

// taskRoleIdentity is the MCP server's task-role session, as CloudTrail describes it.
func taskRoleIdentity() UserIdentity {
	return UserIdentity{
		Type:        IdentityAssumedRole,
		PrincipalID: "AROATASKROLE:ecs-task-1",
		ARN:         "arn:aws:sts::111122223333:assumed-role/mcp-task-role/ecs-task-1",
		AccountID:   acct,
		AccessKeyID: "ASIATASKKEY",
		SessionContext: &SessionContext{
			SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROATASKROLE", ARN: taskRoleArn, AccountID: acct, UserName: "mcp-task-role"},
			Attributes:    SessionAttributes{CreationDate: t0.Add(-time.Hour)},
		},
	}
}

// assumeRoleEvent is the task role assuming a tenant role for alice.
func assumeRoleEvent() Event {
	return Event{
		UserIdentity:    taskRoleIdentity(),
		EventTime:       t0.Add(700 * time.Millisecond), // recorded with second precision
		EventSource:     "sts.amazonaws.com",
		EventName:       "AssumeRole",
		AWSRegion:       "us-east-1",
		SourceIPAddress: "127.0.0.1",
		UserAgent:       "aws-sdk-go-v2/1.48.0",
		RequestParameters: AssumeRoleParameters{
			RoleArn:         userRoleArn,
			RoleSessionName: "usr-alice",
			SourceIdentity:  "usr-alice",
			Tags:            []Tag{{Key: "tenant", Value: "acme"}},
			DurationSeconds: 900,
		}.JSON(),
		ResponseElements: AssumeRoleResponseElements{
			Credentials:     &ResponseCredentials{AccessKeyID: "ASIAALICE", SessionToken: "session-token", Expiration: t0.Add(15 * time.Minute)},
			AssumedRoleUser: &AssumedRoleUser{AssumedRoleID: "AROATENANT:usr-alice", ARN: "arn:aws:sts::111122223333:assumed-role/tenant-acme/usr-alice"},
			SourceIdentity:  "usr-alice",
		}.JSON(),
		RequestID: "7d4ab7f1-59a6-4f0b-8d4c-2f1e0b6f5c10",
		EventID:   "0b9e7a4e-5e5c-4d1b-9c55-3c7f4f0d1a2b",
		Resources: []Resource{{AccountID: acct, Type: "AWS::IAM::Role", ARN: userRoleArn}},
	}
}

func TestRecordWritesTheCloudTrailRecordFormat(t *testing.T) {
	s, _ := NewStore()
	got, err := s.Record(assumeRoleEvent())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"eventVersion":"1.08",` +
		`"userIdentity":{"type":"AssumedRole","principalId":"AROATASKROLE:ecs-task-1","arn":"arn:aws:sts::111122223333:assumed-role/mcp-task-role/ecs-task-1","accountId":"111122223333","accessKeyId":"ASIATASKKEY",` +
		`"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROATASKROLE","arn":"arn:aws:iam::111122223333:role/mcp-task-role","accountId":"111122223333","userName":"mcp-task-role"},` +
		`"attributes":{"creationDate":"2026-11-26T02:04:05Z","mfaAuthenticated":"false"}}},` +
		`"eventTime":"2026-11-26T03:04:05Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"127.0.0.1","userAgent":"aws-sdk-go-v2/1.48.0",` +
		`"requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/tenant-acme","roleSessionName":"usr-alice","sourceIdentity":"usr-alice","tags":[{"key":"tenant","value":"acme"}],"durationSeconds":900},` +
		`"responseElements":{"credentials":{"accessKeyId":"ASIAALICE","sessionToken":"session-token","expiration":"Nov 26, 2026, 3:19:05 AM"},"assumedRoleUser":{"assumedRoleId":"AROATENANT:usr-alice","arn":"arn:aws:sts::111122223333:assumed-role/tenant-acme/usr-alice"},"sourceIdentity":"usr-alice"},` +
		`"requestID":"7d4ab7f1-59a6-4f0b-8d4c-2f1e0b6f5c10","eventID":"0b9e7a4e-5e5c-4d1b-9c55-3c7f4f0d1a2b","readOnly":false,` +
		`"resources":[{"accountId":"111122223333","type":"AWS::IAM::Role","ARN":"arn:aws:iam::111122223333:role/tenant-acme"}],` +
		`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
	if string(b) != want {
		t.Errorf("record JSON\n got %s\nwant %s", b, want)
	}
}

func TestRecordOmitsWhatCloudTrailOmits(t *testing.T) {
	s, _ := NewStore(WithClock(func() time.Time { return t0.Add(123 * time.Millisecond) }))
	tests := []struct {
		name    string
		event   Event
		present []string
		absent  []string
	}{
		{
			name:    "a successful call has no errorCode or errorMessage",
			event:   Event{EventSource: "sts.amazonaws.com", EventName: "GetCallerIdentity", UserIdentity: UserIdentity{Type: IdentityRoot, ARN: "arn:aws:iam::111122223333:root", AccountID: acct}},
			present: []string{`"requestParameters":null`, `"responseElements":null`, `"eventTime":"2026-11-26T03:04:05Z"`},
			absent:  []string{"errorCode", "errorMessage", "sessionContext", "userName", "resources"},
		},
		{
			name: "a denied call has errorCode, errorMessage and null responseElements",
			event: Event{EventSource: "sts.amazonaws.com", EventName: "AssumeRole", UserIdentity: taskRoleIdentity(),
				ErrorCode: "AccessDenied", ErrorMessage: "User: … is not authorized to perform: sts:TagSession",
				RequestParameters: json.RawMessage(`{"roleArn":"arn:aws:iam::111122223333:role/tenant-acme","roleSessionName":"usr-bob"}`)},
			present: []string{`"errorCode":"AccessDenied"`, `"errorMessage":"User: … is not authorized to perform: sts:TagSession"`, `"responseElements":null`},
		},
		{
			name:    "an event without identity is written as an Unknown caller",
			event:   Event{EventSource: "s3.amazonaws.com", EventName: "ListBuckets"},
			present: []string{`"userIdentity":{"type":"Unknown"}`},
		},
		{
			name:    "a data event is not a management event",
			event:   Event{EventSource: "s3.amazonaws.com", EventName: "GetObject", EventCategory: CategoryData, ReadOnly: true},
			present: []string{`"managementEvent":false`, `"eventCategory":"Data"`, `"readOnly":true`},
		},
		{
			name:    "a secret never appears in ResponseCredentials",
			event:   Event{EventSource: "sts.amazonaws.com", EventName: "AssumeRole", ResponseElements: AssumeRoleResponseElements{Credentials: &ResponseCredentials{AccessKeyID: "ASIAX", Expiration: t0}}.JSON()},
			present: []string{`"credentials":{"accessKeyId":"ASIAX","expiration":"Nov 26, 2026, 3:04:05 AM"}`},
			absent:  []string{"secretAccessKey", "sessionToken"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := s.Record(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(e)
			for _, p := range tc.present {
				if !strings.Contains(string(b), p) {
					t.Errorf("record lacks %s: %s", p, b)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(string(b), `"`+a+`"`) {
					t.Errorf("record has %s: %s", a, b)
				}
			}
		})
	}
}

func TestRecordRefusesBadEvents(t *testing.T) {
	s, _ := NewStore()
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{"an event without a name is refused", Event{EventSource: "sts.amazonaws.com"}, "eventName and eventSource are required"},
		{"an event without a source is refused", Event{EventName: "AssumeRole"}, "eventName and eventSource are required"},
		{"requestParameters that are not JSON are refused", Event{EventName: "X", EventSource: "s", RequestParameters: json.RawMessage(`{"a":`)}, "requestParameters is not valid JSON"},
		{"responseElements that are not JSON are refused", Event{EventName: "X", EventSource: "s", ResponseElements: json.RawMessage(`nope`)}, "responseElements is not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Record(tc.event); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Record error = %v, want it to say %q", err, tc.want)
			}
		})
	}
	if s.Len() != 0 {
		t.Errorf("refused events were stored: Len = %d", s.Len())
	}
}

func TestRecordRoundTripsThroughJSON(t *testing.T) {
	s, _ := NewStore()
	e, _ := s.Record(assumeRoleEvent())
	b, _ := json.Marshal(e)
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the record:\n%s\n%s", b, b2)
	}
}

func TestUsernameIsWhatLookupEventsShows(t *testing.T) {
	tests := []struct {
		name string
		id   UserIdentity
		want string
	}{
		{"an assumed role shows its session name", taskRoleIdentity(), "ecs-task-1"},
		{"an IAM user shows the user name", UserIdentity{Type: IdentityIAMUser, UserName: "admin", ARN: "arn:aws:iam::111122223333:user/admin"}, "admin"},
		{"the root user shows root", UserIdentity{Type: IdentityRoot, ARN: "arn:aws:iam::111122223333:root"}, "root"},
		{"an AWS service shows nothing", UserIdentity{Type: IdentityAWSService, InvokedBy: "ecs-tasks.amazonaws.com"}, ""},
		{"an unknown caller shows nothing", UserIdentity{Type: IdentityUnknown}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := usernameOf(tc.id); got != tc.want {
				t.Errorf("usernameOf = %q, want %q", got, tc.want)
			}
		})
	}
}
