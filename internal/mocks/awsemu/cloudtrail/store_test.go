package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentRecordsReachStoreAndSinkIntact(t *testing.T) {
	var sink bytes.Buffer
	s, err := NewStore(WithSink(&sink))
	if err != nil {
		t.Fatal(err)
	}
	var seen sync.Map
	unsubscribe := s.Subscribe(func(e Event) { seen.Store(e.EventID, true) })
	defer unsubscribe()

	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := assumeRoleEvent()
				e.EventID = fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.Record(e); err != nil {
					t.Error(err)
				}
				s.Events(Filter{Limit: 3}) // readers race with writers
			}
		})
	}
	wg.Wait()

	if s.Len() != workers*each {
		t.Errorf("Len = %d, want %d", s.Len(), workers*each)
	}
	lines := 0
	sc := bufio.NewScanner(&sink)
	sc.Buffer(nil, 1<<20)
	ids := map[string]bool{}
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("sink line %d is not one JSON record: %v: %s", lines+1, err, sc.Bytes())
		}
		ids[e.EventID] = true
		lines++
	}
	if lines != workers*each || len(ids) != workers*each {
		t.Errorf("sink has %d lines with %d distinct events, want %d", lines, len(ids), workers*each)
	}
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	if n != workers*each {
		t.Errorf("subscriber saw %d events, want %d", n, workers*each)
	}
}

func TestSinkLinesFollowRecordOrder(t *testing.T) {
	var sink bytes.Buffer
	s, _ := NewStore(WithSink(&sink))
	for i := range 5 {
		_, _ = s.Record(Event{EventSource: "s3.amazonaws.com", EventName: fmt.Sprintf("Op%d", i)})
	}
	var names []string
	for line := range strings.Lines(sink.String()) {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		names = append(names, e.EventName)
	}
	if got := strings.Join(names, ","); got != "Op0,Op1,Op2,Op3,Op4" {
		t.Errorf("sink order %s, want Op0..Op4", got)
	}
	var dump bytes.Buffer
	if _, err := s.WriteTo(&dump); err != nil || dump.String() != sink.String() {
		t.Errorf("WriteTo = %q (err %v), want the sink's lines %q", dump.String(), err, sink.String())
	}
}

func TestCapacityDropsTheOldest(t *testing.T) {
	s, _ := NewStore(WithCapacity(3))
	for i := range 5 {
		_, _ = s.Record(Event{EventSource: "s3.amazonaws.com", EventName: fmt.Sprintf("Op%d", i), EventTime: t0.Add(time.Duration(i) * time.Second)})
	}
	var names []string
	for _, e := range s.Events(Filter{}) {
		names = append(names, e.EventName)
	}
	if got := strings.Join(names, ","); got != "Op4,Op3,Op2" {
		t.Errorf("Events = %s, want the three newest, newest first", got)
	}
	if s.Len() != 3 || s.Dropped() != 2 {
		t.Errorf("Len %d Dropped %d, want 3 and 2", s.Len(), s.Dropped())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSinkFailureIsLoggedNotReturned(t *testing.T) {
	var logs bytes.Buffer
	s, _ := NewStore(WithSink(failingWriter{}), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if _, err := s.Record(Event{EventSource: "sts.amazonaws.com", EventName: "GetCallerIdentity"}); err != nil {
		t.Errorf("Record = %v, want success despite the sink", err)
	}
	if s.Len() != 1 || !strings.Contains(logs.String(), "disk full") {
		t.Errorf("Len %d logs %q, want the event stored and the failure logged", s.Len(), logs.String())
	}
}

func TestStoredEventsDoNotAliasCallerMemory(t *testing.T) {
	s, _ := NewStore()
	e := assumeRoleEvent()
	_, _ = s.Record(e)
	e.Resources[0].ARN = "changed"
	e.UserIdentity.SessionContext.SessionIssuer.UserName = "changed"
	e.RequestParameters[2] = 'X'
	got := s.Events(Filter{})[0]
	got.Resources[0].Type = "changed too"
	again := s.Events(Filter{})[0]
	if again.Resources[0].ARN != userRoleArn || again.Resources[0].Type != "AWS::IAM::Role" ||
		again.UserIdentity.SessionContext.SessionIssuer.UserName != "mcp-task-role" || !json.Valid(again.RequestParameters) {
		t.Errorf("stored event changed through caller memory: %+v", again)
	}
}

func TestEventsFilters(t *testing.T) {
	s := seededStore(t)
	ro := true
	tests := []struct {
		name   string
		filter Filter
		want   string
	}{
		{"no filter returns everything newest first", Filter{}, "GetCallerIdentity,ListBuckets,GetObject,AssumeRole,AssumeRole"},
		{"a limit keeps the newest", Filter{Limit: 2}, "GetCallerIdentity,ListBuckets"},
		{"an event name selects those events", Filter{EventName: "AssumeRole"}, "AssumeRole,AssumeRole"},
		{"a session name selects the assumed role's events", Filter{Username: "ecs-task-1"}, "AssumeRole,AssumeRole"},
		{"an access key selects its caller's events", Filter{AccessKeyID: "AKIAADMIN"}, "ListBuckets"},
		{"a resource ARN selects events on it", Filter{ResourceName: "arn:aws:s3:::acme-data"}, "GetObject"},
		{"a resource type selects events on that type", Filter{ResourceType: "AWS::IAM::Role"}, "AssumeRole,AssumeRole"},
		{"an event source selects its events", Filter{EventSource: "s3.amazonaws.com"}, "ListBuckets,GetObject"},
		{"read-only selects read-only calls", Filter{ReadOnly: &ro}, "GetCallerIdentity,ListBuckets,GetObject"},
		{"a time range is inclusive at both ends", Filter{Start: t0.Add(time.Minute), End: t0.Add(3 * time.Minute)}, "ListBuckets,GetObject,AssumeRole"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for _, e := range s.Events(tc.filter) {
				names = append(names, e.EventName)
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("Events = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestStoreOptionsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		opt  StoreOption
	}{
		{"a zero capacity is rejected", WithCapacity(0)},
		{"a nil sink is rejected", WithSink(nil)},
		{"a nil clock is rejected", WithClock(nil)},
		{"a nil logger is rejected", WithLogger(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewStore(tc.opt); err == nil || !strings.HasPrefix(err.Error(), "cloudtrail: ") {
				t.Errorf("NewStore error = %v, want a cloudtrail: error", err)
			}
		})
	}
}

// seededStore holds, oldest first: an allowed AssumeRole, a denied AssumeRole (both by the task
// role), an S3 data event by alice, ListBuckets by an IAM user and GetCallerIdentity by root.
func seededStore(t *testing.T) *Store {
	t.Helper()
	s, _ := NewStore()
	allowed := assumeRoleEvent()
	allowed.EventID = ""
	denied := assumeRoleEvent()
	denied.EventID, denied.EventTime = "", t0.Add(time.Minute)
	denied.ErrorCode, denied.ErrorMessage, denied.ResponseElements = "AccessDenied", "not authorized to perform: sts:TagSession", nil
	events := []Event{
		allowed,
		denied,
		{
			EventTime: t0.Add(2 * time.Minute), EventSource: "s3.amazonaws.com", EventName: "GetObject", ReadOnly: true, EventCategory: CategoryData,
			UserIdentity: UserIdentity{Type: IdentityAssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/tenant-acme/usr-alice", AccessKeyID: "ASIAALICE", AccountID: acct,
				SessionContext: &SessionContext{SourceIdentity: "usr-alice", SessionIssuer: &SessionIssuer{Type: "Role", ARN: userRoleArn, AccountID: acct, UserName: "tenant-acme"}}},
			Resources: []Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::acme-data/report.csv"}, {AccountID: acct, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::acme-data"}},
		},
		{
			EventTime: t0.Add(3 * time.Minute), EventSource: "s3.amazonaws.com", EventName: "ListBuckets", ReadOnly: true,
			UserIdentity: UserIdentity{Type: IdentityIAMUser, UserName: "admin", ARN: "arn:aws:iam::111122223333:user/admin", AccessKeyID: "AKIAADMIN", AccountID: acct},
		},
		{
			EventTime: t0.Add(4 * time.Minute), EventSource: "sts.amazonaws.com", EventName: "GetCallerIdentity", ReadOnly: true,
			UserIdentity: UserIdentity{Type: IdentityRoot, ARN: "arn:aws:iam::111122223333:root", AccessKeyID: "AKIAROOT", AccountID: acct},
		},
	}
	for _, e := range events {
		if _, err := s.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestAddStoresWhatRecordWould(t *testing.T) {
	s, err := NewStore(WithClock(func() time.Time { return time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	defer s.Subscribe(func(e Event) { got = append(got, e) })()
	in := Event{EventName: "AssumeRole", EventSource: "sts.amazonaws.com", RequestParameters: []byte(`{"roleArn":"arn"}`),
		Resources: []Resource{{Type: "AWS::IAM::Role", ARN: "arn"}}}
	if err := s.Add(in); err != nil {
		t.Fatal(err)
	}
	in.RequestParameters[2] = 'X' // the caller's memory, changed after the call
	in.Resources[0].ARN = "changed"
	stored := s.Events(Filter{})
	if len(stored) != 1 || len(got) != 1 || stored[0].EventID != got[0].EventID {
		t.Fatalf("stored %+v, subscribers saw %+v; want the one event in both", stored, got)
	}
	if e := stored[0]; string(e.RequestParameters) != `{"roleArn":"arn"}` || e.Resources[0].ARN != "arn" || e.EventVersion != EventVersion || e.EventID == "" {
		t.Errorf("stored %+v; want a completed copy of the event as added", e)
	}
	if err := s.Add(Event{EventName: "NoSource"}); err == nil || s.Len() != 1 {
		t.Errorf("Add without eventSource: err %v, %d stored; want an error and nothing stored", err, s.Len())
	}
}

func TestAddOwnedStoresWhatAddWould(t *testing.T) {
	at := func() time.Time { return time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC) }
	added, _ := NewStore(WithClock(at))
	owned, _ := NewStore(WithClock(at))
	e := assumeRoleEvent()
	e.EventID, e.RequestID = "11111111-2222-4333-8444-555555555555", "req-1" // else each store draws its own
	if err := added.Add(e); err != nil {
		t.Fatal(err)
	}
	if err := owned.AddOwned(assumeRoleEventWithIDs(e.EventID, e.RequestID)); err != nil {
		t.Fatal(err)
	}
	a, o := added.Events(Filter{}), owned.Events(Filter{})
	if len(a) != 1 || len(o) != 1 || !reflect.DeepEqual(a[0], o[0]) {
		t.Fatalf("AddOwned stored %+v, Add %+v", o, a)
	}
	if err := owned.AddOwned(Event{EventName: "NoSource"}); err == nil || owned.Len() != 1 {
		t.Errorf("AddOwned without eventSource: err %v, %d stored; want an error and nothing stored", err, owned.Len())
	}
}

func assumeRoleEventWithIDs(eventID, requestID string) Event {
	e := assumeRoleEvent()
	e.EventID, e.RequestID = eventID, requestID
	return e
}
