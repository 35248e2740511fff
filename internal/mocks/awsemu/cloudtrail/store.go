package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
)

// DefaultCapacity is how many events a Store keeps before dropping the oldest.
const DefaultCapacity = 100_000

// DefaultRegion is the awsRegion written when an event has none (the emulator's region).
const DefaultRegion = "us-east-1"

// StoreOption configures NewStore.
type StoreOption func(*storeSettings) error

type storeSettings struct {
	capacity int
	sink     io.Writer
	now      func() time.Time
	logger   *slog.Logger
}

// WithCapacity sets how many events are kept (default DefaultCapacity); when full, recording
// drops the oldest.
func WithCapacity(n int) StoreOption {
	return func(s *storeSettings) error {
		if n < 1 {
			return fmt.Errorf("cloudtrail: capacity %d: must be at least 1", n)
		}
		s.capacity = n
		return nil
	}
}

// WithSink writes every recorded event to w as one line of JSON (NDJSON), in record order.
// Writes are serialised; a failed write is logged and does not fail the recording, as trail
// delivery never fails the API call it describes.
func WithSink(w io.Writer) StoreOption {
	return func(s *storeSettings) error {
		if w == nil {
			return errors.New("cloudtrail: sink: must not be nil")
		}
		s.sink = w
		return nil
	}
}

// WithClock sets the clock that stamps events recorded without an eventTime (default time.Now).
func WithClock(now func() time.Time) StoreOption {
	return func(s *storeSettings) error {
		if now == nil {
			return errors.New("cloudtrail: clock: must not be nil")
		}
		s.now = now
		return nil
	}
}

// WithLogger sets the logger for sink failures and LookupEvents requests (default: discard).
func WithLogger(l *slog.Logger) StoreOption {
	return func(s *storeSettings) error {
		if l == nil {
			return errors.New("cloudtrail: logger: must not be nil")
		}
		s.logger = l
		return nil
	}
}

// Store keeps the most recent events in memory. It is safe for concurrent use.
type Store struct {
	cfg storeSettings

	mu      sync.Mutex
	ring    ring
	seq     uint64 // sequence number of the last recorded event
	dropped uint64
	subs    map[int]func(Event)
	nextSub int

	// sinkMu is taken before mu is released, so sink lines come out in record order while
	// readers need not wait for a slow writer.
	sinkMu sync.Mutex
}

type entry struct {
	seq      uint64
	ev       Event
	raw      []byte // the record's JSON once built: the NDJSON line and LookupEvents' CloudTrailEvent
	username string // what LookupEvents shows as Username
}

// json returns the record's JSON text, building it on first use; callers hold Store.mu.
func (en *entry) json() []byte {
	if en.raw == nil {
		// Event always marshals: its raw fields were validated by Record.
		en.raw, _ = json.Marshal(en.ev)
	}
	return en.raw
}

// chunkLen is how many entries a ring allocates at a time: a store never copies the events
// it holds to grow, and one that records little does not reserve its whole capacity.
const chunkLen = 1024

// ring holds up to its capacity of entries in fixed-size chunks allocated as it fills; once
// full, a new entry overwrites the oldest. Adding an entry costs the same whether the store
// holds ten events or has dropped a million.
type ring struct {
	chunks   [][]entry
	capacity int
	n        int // entries held
	head     int // slot of the oldest entry once full (0 until then)
}

func newRing(capacity int) ring {
	return ring{chunks: make([][]entry, 0, (capacity+chunkLen-1)/chunkLen), capacity: capacity}
}

func (r *ring) slot(i int) *entry { return &r.chunks[i/chunkLen][i%chunkLen] }

// push adds en and reports whether it overwrote (dropped) the oldest entry.
func (r *ring) push(en entry) (dropped bool) {
	if r.n < r.capacity {
		if r.n == len(r.chunks)*chunkLen {
			r.chunks = append(r.chunks, make([]entry, min(chunkLen, r.capacity-r.n)))
		}
		*r.slot(r.n) = en
		r.n++
		return false
	}
	*r.slot(r.head) = en
	if r.head++; r.head == r.capacity {
		r.head = 0
	}
	return true
}

// at is the i-th oldest entry, 0 ≤ i < n.
func (r *ring) at(i int) *entry {
	if i += r.head; i >= r.capacity {
		i -= r.capacity
	}
	return r.slot(i)
}

// NewStore returns an empty Store.
func NewStore(opts ...StoreOption) (*Store, error) {
	cfg := storeSettings{
		capacity: DefaultCapacity,
		now:      time.Now,
		logger:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Store{cfg: cfg, ring: newRing(cfg.capacity), subs: map[int]func(Event){}}, nil
}

// Record completes e with defaults, stores it, writes it to the sink and passes it to
// subscribers. It returns the event as stored. It fails, storing nothing, when eventName or
// eventSource is missing or requestParameters / responseElements is not valid JSON.
func (s *Store) Record(e Event) (Event, error) {
	stored, err := s.record(clone(e))
	if err != nil {
		return Event{}, err
	}
	return clone(stored), nil
}

// Add records e as Record does, for a caller that does not need the stored event back (the
// emulator, once per request): it saves Record's copy of it.
func (s *Store) Add(e Event) error {
	_, err := s.record(clone(e))
	return err
}

// AddOwned is Add for an event built for this call alone: its slices and pointers (the
// parameters, the resources, the session context) become the store's, and the caller must
// not use them again. It saves Add's copy of them.
func (s *Store) AddOwned(e Event) error {
	_, err := s.record(e)
	return err
}

// record stores e, which is the store's from now on, completed with defaults, and returns it;
// the caller must not modify or hand it out.
func (s *Store) record(e Event) (Event, error) {
	if e.EventName == "" || e.EventSource == "" {
		return Event{}, fmt.Errorf("cloudtrail: event %q from %q: eventName and eventSource are required", e.EventName, e.EventSource)
	}
	for _, f := range []struct {
		name string
		v    *json.RawMessage
	}{{"requestParameters", &e.RequestParameters}, {"responseElements", &e.ResponseElements}} {
		if len(*f.v) == 0 {
			*f.v = nil
		} else if !validJSON(*f.v) {
			return Event{}, fmt.Errorf("cloudtrail: event %s: %s is not valid JSON", e.EventName, f.name)
		}
	}
	fillDefaults(&e, s.cfg.now)
	// The JSON text is built now only for the sink; otherwise on first read (entry.json), so
	// recording stays cheap on the emulator's hot path.
	var raw []byte
	if s.cfg.sink != nil {
		var err error
		if raw, err = json.Marshal(e); err != nil {
			return Event{}, fmt.Errorf("cloudtrail: event %s: encode record: %w", e.EventName, err)
		}
	}

	s.mu.Lock()
	s.seq++
	if s.ring.push(entry{seq: s.seq, ev: e, raw: raw, username: usernameOf(e.UserIdentity)}) {
		s.dropped++
	}
	var subs []func(Event)
	for _, fn := range s.subs {
		subs = append(subs, fn)
	}
	if s.cfg.sink != nil {
		s.sinkMu.Lock()
	}
	s.mu.Unlock()

	if s.cfg.sink != nil {
		_, err := s.cfg.sink.Write(append(raw[:len(raw):len(raw)], '\n'))
		s.sinkMu.Unlock()
		if err != nil {
			s.cfg.logger.Error("cloudtrail sink write failed", "event_id", e.EventID, "reason", err.Error())
		}
	}
	for _, fn := range subs {
		fn(clone(e))
	}
	return e, nil
}

func fillDefaults(e *Event, now func() time.Time) {
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	}
	if e.EventTime.IsZero() {
		e.EventTime = now()
	}
	e.EventTime = e.EventTime.UTC().Truncate(time.Second)
	if e.UserIdentity.Type == "" {
		e.UserIdentity.Type = IdentityUnknown
	}
	if sc := e.UserIdentity.SessionContext; sc != nil && !sc.Attributes.CreationDate.IsZero() {
		sc.Attributes.CreationDate = sc.Attributes.CreationDate.UTC().Truncate(time.Second)
	}
	if e.AWSRegion == "" {
		e.AWSRegion = DefaultRegion
	}
	if e.EventID == "" {
		e.EventID = awserr.NewRequestID()
	}
	if e.RequestID == "" {
		e.RequestID = awserr.NewRequestID()
	}
	if e.EventType == "" {
		e.EventType = EventTypeAPICall
	}
	if e.EventCategory == "" {
		e.EventCategory = CategoryManagement
	}
	e.ManagementEvent = e.EventCategory == CategoryManagement
	if e.RecipientAccountID == "" {
		e.RecipientAccountID = e.UserIdentity.AccountID
	}
}

// Filter selects events. Empty fields match everything; Start and End are inclusive.
type Filter struct {
	EventID      string
	EventName    string
	EventSource  string
	Username     string // as LookupEvents shows it: the session name for assumed roles
	AccessKeyID  string
	ResourceType string
	ResourceName string // a resource's ARN
	ReadOnly     *bool
	Start, End   time.Time
	Limit        int // at most this many (0: all)
}

func (f *Filter) match(en *entry) bool {
	e := &en.ev
	switch {
	case f.EventID != "" && e.EventID != f.EventID,
		f.EventName != "" && e.EventName != f.EventName,
		f.EventSource != "" && e.EventSource != f.EventSource,
		f.Username != "" && en.username != f.Username,
		f.AccessKeyID != "" && e.UserIdentity.AccessKeyID != f.AccessKeyID,
		f.ReadOnly != nil && e.ReadOnly != *f.ReadOnly,
		!f.Start.IsZero() && e.EventTime.Before(f.Start),
		!f.End.IsZero() && e.EventTime.After(f.End):
		return false
	}
	if f.ResourceType != "" && !slices.ContainsFunc(e.Resources, func(r Resource) bool { return r.Type == f.ResourceType }) {
		return false
	}
	if f.ResourceName != "" && !slices.ContainsFunc(e.Resources, func(r Resource) bool { return r.ARN == f.ResourceName }) {
		return false
	}
	return true
}

// Events returns the stored events that match f, newest first.
func (s *Store) Events(f Filter) []Event {
	var out []Event
	s.scan(func(en *entry) bool {
		if f.match(en) {
			out = append(out, clone(en.ev))
		}
		return f.Limit <= 0 || len(out) < f.Limit
	})
	return out
}

// scan calls fn on the stored entries, newest first, under the lock, until fn returns false.
func (s *Store) scan(fn func(*entry) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.ring.n - 1; i >= 0; i-- {
		if !fn(s.ring.at(i)) {
			return
		}
	}
}

// Len is the number of stored events.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring.n
}

// Dropped is how many events were dropped to stay within capacity.
func (s *Store) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Subscribe calls fn with every event recorded from now on, after it is stored, on the
// recording goroutine; fn must not block. The returned func unsubscribes.
func (s *Store) Subscribe(fn func(Event)) (unsubscribe func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// WriteTo writes the stored events to w as NDJSON, oldest first (for test-failure dumps).
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	var lines [][]byte
	s.scan(func(en *entry) bool { lines = append(lines, en.json()); return true })
	var n int64
	for _, l := range slices.Backward(lines) {
		m, err := w.Write(append(l[:len(l):len(l)], '\n'))
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// usernameOf is the user name LookupEvents shows: the session name of an assumed role, the
// user name of an IAM user, "root" for the root user.
func usernameOf(u UserIdentity) string {
	switch {
	case u.Type == IdentityAssumedRole:
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 && strings.Contains(u.ARN, ":assumed-role/") {
			return u.ARN[i+1:]
		}
	case u.UserName != "":
		return u.UserName
	case u.Type == IdentityRoot:
		return "root"
	}
	return u.UserName
}

// clone copies e's slices and pointers so stored events never alias caller memory.
func clone(e Event) Event {
	e.RequestParameters = slices.Clone(e.RequestParameters)
	e.ResponseElements = slices.Clone(e.ResponseElements)
	e.Resources = slices.Clone(e.Resources)
	if sc := e.UserIdentity.SessionContext; sc != nil {
		c := *sc
		if sc.SessionIssuer != nil {
			si := *sc.SessionIssuer
			c.SessionIssuer = &si
		}
		e.UserIdentity.SessionContext = &c
	}
	return e
}
