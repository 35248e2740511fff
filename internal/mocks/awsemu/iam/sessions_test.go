package iam

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

var sessionT0 = time.Date(2026, 12, 7, 9, 0, 0, 123456789, time.UTC)

// fullSession sets every field of a Session, so that a field the compact form drops shows.
func fullSession(t testing.TB) Session {
	t.Helper()
	pol, err := iampolicy.Parse(iampolicy.SessionPolicy, "session policy", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return Session{
		AccessKeyID: "ASIAABCDEFGHIJKLMNOP", SecretAccessKey: strings.Repeat("s", sessionSecretLen),
		SessionToken: sessionTokenPrefix + strings.Repeat("t", 3*sessionSecretLen),
		Issued:       sessionT0, Expiration: sessionT0.Add(time.Hour),
		Account: "111122223333", RoleARN: "arn:aws:iam::111122223333:role/app", RoleName: "app", RoleID: "AROAEXAMPLEEXAMPLE1",
		SessionName: "usr-alice", SourceIdentity: "usr-alice@acme.example",
		Tags: []Tag{{Key: "tenant", Value: "acme"}, {Key: "team", Value: ""}}, TransitiveTagKeys: []string{"tenant"},
		Policies: []*iampolicy.Policy{pol}, Chained: true, IssuedTo: "ecs-tasks.amazonaws.com",
	}
}

// TestASessionRoundTripsThroughItsRecordFieldByField: what get returns is what put was given,
// each field compared on its own so that a failure names the field.
func TestASessionRoundTripsThroughItsRecordFieldByField(t *testing.T) {
	want := fullSession(t)
	table := newSessionTable()
	table.put(want)
	if len(table.index) != 1 || len(table.other) != 0 {
		t.Fatalf("a session of the usual sizes is kept as a record: %d records, %d others", len(table.index), len(table.other))
	}
	got, ok := table.get(want.AccessKeyID)
	if !ok {
		t.Fatal("the session is not found by its access key")
	}
	compareSessions(t, got, want)
	secret, token, expires, ok := table.credential(want.AccessKeyID)
	if !ok || secret != want.SecretAccessKey || token != want.SessionToken || !expires.Equal(want.Expiration) {
		t.Errorf("credential = %q, %q, %v, %v; want the session's secret, token and expiration", secret, token, expires, ok)
	}
}

func compareSessions(t *testing.T, got, want Session) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if gt, ok := g.(time.Time); ok {
			if !gt.Equal(w.(time.Time)) {
				t.Errorf("%s = %v, want %v", name, gt, w)
			}
			continue
		}
		bothEmpty := gv.Field(i).Kind() == reflect.Slice && gv.Field(i).Len() == 0 && wv.Field(i).Len() == 0
		if !bothEmpty && !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", name, g, w)
		}
	}
}

// TestSessionsThatDoNotFitARecordAreKeptWhole: a session file written by hand may hold any
// access key, name, secret or token; such sessions still work.
func TestSessionsThatDoNotFitARecordAreKeptWhole(t *testing.T) {
	table := newSessionTable()
	for _, odd := range []func(*Session){
		func(s *Session) { s.AccessKeyID = "ASIASHORT" },
		func(s *Session) { s.AccessKeyID = "ASIALONGERTHANTWENTYCHARS"; s.SecretAccessKey = "x" },
		func(s *Session) { s.AccessKeyID = "ASIAABCDEFGHIJKLMNO1"; s.SessionToken = "short" },
		func(s *Session) {
			s.AccessKeyID = "ASIAABCDEFGHIJKLMNO2"
			s.SessionName = strings.Repeat("n", maxSessionNameLen+1)
		},
	} {
		sess := fullSession(t)
		odd(&sess)
		table.put(sess)
		got, ok := table.get(sess.AccessKeyID)
		if !ok {
			t.Fatalf("session %s not found", sess.AccessKeyID)
		}
		compareSessions(t, got, sess)
		if !table.has(sess.AccessKeyID) {
			t.Errorf("has(%s) = false", sess.AccessKeyID)
		}
	}
	if len(table.other) != 4 || len(table.index) != 0 || table.count() != 4 {
		t.Errorf("others %d, records %d, count %d; want 4, 0, 4", len(table.other), len(table.index), table.count())
	}
	table.sweep(sessionT0.Add(time.Hour + sessionRetention + time.Second))
	if table.count() != 0 {
		t.Errorf("%d sessions left past their retention, want 0", table.count())
	}
}

// TestSessionsOfOneShapeShareItAndTheLastOneDropsIt: a million sessions of fifty users keep
// fifty shapes, and a shape goes with the last session that used it.
func TestSessionsOfOneShapeShareItAndTheLastOneDropsIt(t *testing.T) {
	table := newSessionTable()
	a, b, c := fullSession(t), fullSession(t), fullSession(t)
	b.AccessKeyID, b.Expiration = "ASIABBBBBBBBBBBBBBBB", sessionT0.Add(2*time.Hour)
	c.AccessKeyID, c.SourceIdentity = "ASIACCCCCCCCCCCCCCCC", "usr-bob@acme.example"
	// A policy parsed again from the same document is the same shape.
	again, err := iampolicy.Parse(iampolicy.SessionPolicy, "session policy", a.Policies[0].Document())
	if err != nil {
		t.Fatal(err)
	}
	b.Policies = []*iampolicy.Policy{again}
	for _, s := range []Session{a, b, c} {
		table.put(s)
	}
	if len(table.shapeIndex) != 2 {
		t.Fatalf("%d shapes for two of one shape and one of another, want 2", len(table.shapeIndex))
	}
	table.sweep(a.Expiration.Add(sessionRetention + time.Nanosecond))
	if table.count() != 1 || len(table.shapeIndex) != 1 {
		t.Fatalf("after a and c expired: %d sessions, %d shapes; want 1, 1", table.count(), len(table.shapeIndex))
	}
	if got, ok := table.get(b.AccessKeyID); !ok || got.SourceIdentity != a.SourceIdentity {
		t.Fatalf("b = %+v, %v; want it kept with its shape", got, ok)
	}
	table.sweep(b.Expiration.Add(sessionRetention + time.Nanosecond))
	if table.count() != 0 || len(table.shapeIndex) != 0 || len(table.freeShapes) != 2 || len(table.freeSlots) != 3 {
		t.Errorf("after all expired: %d sessions, %d shapes, %d free shapes, %d free slots; want 0, 0, 2, 3",
			table.count(), len(table.shapeIndex), len(table.freeShapes), len(table.freeSlots))
	}
}

// TestTheSweepForgetsASessionOnlyPastItsRetention: at expiration plus the retention a session is
// still known (its caller gets ExpiredToken); a nanosecond later it is forgotten.
func TestTheSweepForgetsASessionOnlyPastItsRetention(t *testing.T) {
	table := newSessionTable()
	sess := fullSession(t)
	table.put(sess)
	table.sweep(sess.Expiration.Add(sessionRetention))
	if !table.has(sess.AccessKeyID) {
		t.Fatal("forgotten at exactly its expiration plus the retention")
	}
	table.sweep(sess.Expiration.Add(sessionRetention + time.Nanosecond))
	if table.has(sess.AccessKeyID) {
		t.Fatal("still known past its retention")
	}
}

// TestAReusedSlotIsNotSweptForItsEarlierSession: a session replaced under the same key (a
// session file with a key twice) takes a slot whose earlier occupant's expiry is still queued;
// that expiry must not forget the new session.
func TestAReusedSlotIsNotSweptForItsEarlierSession(t *testing.T) {
	table := newSessionTable()
	first := fullSession(t)
	table.put(first)
	second := first
	second.Expiration = first.Expiration.Add(5 * time.Hour)
	second.SessionName = "second"
	table.put(second)
	if table.count() != 1 || table.usedSlots != 1 {
		t.Fatalf("%d sessions in %d slots, want the second in the first's slot", table.count(), table.usedSlots)
	}
	table.sweep(first.Expiration.Add(sessionRetention + time.Second))
	got, ok := table.get(first.AccessKeyID)
	if !ok || got.SessionName != "second" {
		t.Fatalf("the first session's expiry forgot the second: %+v, %v", got, ok)
	}
}

// TestStoreSessionsRoundTripThroughCallerLookupAndTheSessionFile: through the Store's own
// methods, a session reads back the same as a caller, as a SigV4 credential and after a
// restart on its session file.
func TestStoreSessionsRoundTripThroughCallerLookupAndTheSessionFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.jsonl")
	now := sessionT0
	clock := func() time.Time { return now }
	store := NewStore(WithClock(clock), WithSessionFile(path))
	in := fullSession(t)
	in.AccessKeyID, in.SecretAccessKey, in.SessionToken = "", "", ""
	sess := store.AddSession(in)
	check := func(store *Store) {
		t.Helper()
		c, err := store.Caller(sess.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		compareSessions(t, *c.Session, sess)
		if c.Kind != CallerSession || c.ARN != sess.ARN() || c.UserID != sess.UserID() || c.Account != sess.Account {
			t.Errorf("caller %+v does not match the session", c)
		}
		cred, err := store.LookupAccessKey(context.Background(), sess.AccessKeyID)
		if err != nil || cred.SecretAccessKey != sess.SecretAccessKey || cred.SessionToken != sess.SessionToken || !cred.Expires.Equal(sess.Expiration) || cred.Principal != sess.AccessKeyID {
			t.Errorf("LookupAccessKey = %+v, %v; want the session's credential", cred, err)
		}
	}
	check(store)
	restarted := NewStore(WithClock(clock), WithSessionFile(path))
	if err := restarted.LoadError(); err != nil {
		t.Fatal(err)
	}
	check(restarted)
	if n := restarted.SessionCount(); n != 1 {
		t.Errorf("SessionCount after the restart = %d, want 1", n)
	}
	if _, err := restarted.AddAccessKey("111122223333", "admin", sess.AccessKeyID, "x"); err == nil {
		t.Error("a long-term key could take a session's access key ID")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("session file: %v, %v; want it 0600", st, err)
	}
}

// FuzzSessionTableRoundTrip: any session, whether kept as a record or whole, reads back as it
// was put, and goes with its retention.
func FuzzSessionTableRoundTrip(f *testing.F) {
	s := fullSession(f)
	f.Add(s.AccessKeyID, s.SecretAccessKey, s.SessionToken, s.SessionName, s.SourceIdentity, "tenant", "acme", int64(3600), int32(5), true)
	f.Add("ASIASHORT", "x", "y", "", "", "", "", int64(-1), int32(0), false)
	f.Fuzz(func(t *testing.T, id, secret, token, name, source, tagKey, tagValue string, lifetime int64, nsec int32, chained bool) {
		// Bring any input into range rather than skip it: nanoseconds of a second, and a
		// lifetime within about 30 years either way.
		if nsec %= 1e9; nsec < 0 {
			nsec = -nsec
		}
		lifetime %= 1e9
		sess := Session{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, SessionName: name, SourceIdentity: source,
			Issued: time.Unix(1_800_000_000, int64(nsec)).UTC(), Account: "111122223333", Chained: chained}
		sess.Expiration = sess.Issued.Add(time.Duration(lifetime) * time.Second)
		if tagKey != "" {
			sess.Tags = []Tag{{Key: tagKey, Value: tagValue}}
		}
		table := newSessionTable()
		table.put(sess)
		got, ok := table.get(id)
		if !ok {
			t.Fatalf("session %q not found", id)
		}
		compareSessions(t, got, sess)
		table.sweep(sess.Expiration.Add(sessionRetention))
		if !table.has(id) {
			t.Fatal("forgotten before its retention ended")
		}
		table.sweep(sess.Expiration.Add(sessionRetention + time.Minute))
		if table.count() != 0 || len(table.shapeIndex) != 0 {
			t.Fatalf("%d sessions, %d shapes left past the retention", table.count(), len(table.shapeIndex))
		}
	})
}
