package iam

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// STS sessions stay valid until they expire (and known for sessionRetention after, for
// ExpiredToken), so an emulator that assumes a role per request holds one session per request
// of the last hours: a million of them in a long run. Kept as a *Session each, with its own
// strings, slices and map entry, they made every garbage collection scan them all, and the CPU
// per request grew with the run. The table below keeps them where the collector does not look:
//
//   - what is a session's own (access key, secret, token, name, times) is a fixed-size,
//     pointer-free record in chunks of records; the collector never scans memory without
//     pointers;
//   - what sessions share (the role, source identity, tags, transitive tag keys, session
//     policies, chaining, the service it was issued to) is one shape per distinct
//     combination, counted by the records that use it and dropped with the last one;
//   - the index is a map from the fixed-size access key to the record's slot: keys and values
//     without pointers, so the map is not scanned either;
//   - expiry is a min-heap of (time, slot), so forgetting a session past its retention costs
//     O(log n) when it is due instead of a walk of every session once a minute.
//
// A session whose fields do not fit a record (an access key not of 20 characters, a session
// name over 64, a secret or token of another length: only a hand-edited session file has
// them) is kept as a *Session in other, swept by a walk of that small map.

const (
	sessionKeyLen     = 20 // "ASIA" and 16 characters (newID)
	sessionSecretLen  = 40 // randomSecret
	sessionTokenLen   = len(sessionTokenPrefix) + 3*sessionSecretLen
	maxSessionNameLen = 64 // STS RoleSessionName: 2 to 64 characters
	sessionsPerChunk  = 4096
	// sessionTokenPrefix starts every token, as "IQoJb3JpZ2luX2Vj" starts AWS's.
	sessionTokenPrefix = "IQoJb3JpZ2luX2VjE"
)

type sessionKey [sessionKeyLen]byte

// sessionRecord is what one session owns. It holds no pointer: chunks of records are
// allocated as memory the garbage collector does not scan.
type sessionRecord struct {
	id          sessionKey
	secret      [sessionSecretLen]byte
	token       [sessionTokenLen]byte
	name        [maxSessionNameLen]byte
	nameLen     uint8
	issuedSec   int64
	expiresSec  int64
	issuedNsec  int32
	expiresNsec int32
	shape       uint32
	// gen tells a heap entry for an earlier occupant of the slot from one for this record.
	gen uint32
}

// sessionShape is what the sessions of one role, source identity, set of tags and policies
// share; refs counts the records that point at it.
type sessionShape struct {
	key               string
	refs              int
	account           string
	roleARN           string
	roleName          string
	roleID            string
	sourceIdentity    string
	issuedTo          string
	chained           bool
	tags              []Tag
	transitiveTagKeys []string
	policies          []*iampolicy.Policy
}

// expiry is when the record in slot may be forgotten: its expiration plus the retention.
type expiry struct {
	sec  int64 // Unix seconds
	nsec int32
	slot uint32
	gen  uint32
}

func (e expiry) before(f expiry) bool { return e.sec < f.sec || (e.sec == f.sec && e.nsec < f.nsec) }

// sessionTable holds a store's sessions; the store's mutex guards it.
type sessionTable struct {
	index      map[sessionKey]uint32
	chunks     []*[sessionsPerChunk]sessionRecord
	freeSlots  []uint32
	usedSlots  uint32
	shapes     []sessionShape
	shapeIndex map[string]uint32
	freeShapes []uint32
	keyBuf     []byte   // appendShapeKey's buffer, reused
	expiries   []expiry // a min-heap on time
	other      map[string]*Session
	otherSwept time.Time
}

func newSessionTable() *sessionTable {
	return &sessionTable{index: map[sessionKey]uint32{}, shapeIndex: map[string]uint32{}, other: map[string]*Session{}}
}

// count is how many sessions the table holds.
func (t *sessionTable) count() int { return len(t.index) + len(t.other) }

// has reports whether id is a session's access key.
func (t *sessionTable) has(id string) bool {
	if k, ok := keyOf(id); ok {
		if _, found := t.index[k]; found {
			return true
		}
	}
	_, found := t.other[id]
	return found
}

func keyOf(id string) (sessionKey, bool) {
	var k sessionKey
	if len(id) != sessionKeyLen {
		return k, false
	}
	copy(k[:], id)
	return k, true
}

func (t *sessionTable) record(slot uint32) *sessionRecord {
	return &t.chunks[slot/sessionsPerChunk][slot%sessionsPerChunk]
}

// fits reports whether sess can be kept as a record.
func fits(sess *Session) bool {
	return len(sess.AccessKeyID) == sessionKeyLen && len(sess.SecretAccessKey) == sessionSecretLen &&
		len(sess.SessionToken) == sessionTokenLen && len(sess.SessionName) <= maxSessionNameLen
}

// put stores sess under its access key, replacing a session with the same key.
func (t *sessionTable) put(sess Session) {
	t.remove(sess.AccessKeyID)
	if !fits(&sess) {
		stored := sess
		t.other[sess.AccessKeyID] = &stored
		return
	}
	slot := t.newSlot()
	r := t.record(slot)
	gen := r.gen + 1
	*r = sessionRecord{gen: gen, nameLen: uint8(len(sess.SessionName)), shape: t.acquireShape(&sess),
		issuedSec: sess.Issued.Unix(), issuedNsec: int32(sess.Issued.Nanosecond()),
		expiresSec: sess.Expiration.Unix(), expiresNsec: int32(sess.Expiration.Nanosecond())}
	copy(r.id[:], sess.AccessKeyID)
	copy(r.secret[:], sess.SecretAccessKey)
	copy(r.token[:], sess.SessionToken)
	copy(r.name[:], sess.SessionName)
	t.index[r.id] = slot
	t.pushExpiry(expiry{sec: r.expiresSec + int64(sessionRetention/time.Second), nsec: r.expiresNsec, slot: slot, gen: gen})
}

func (t *sessionTable) newSlot() uint32 {
	if n := len(t.freeSlots); n > 0 {
		slot := t.freeSlots[n-1]
		t.freeSlots = t.freeSlots[:n-1]
		return slot
	}
	slot := t.usedSlots
	if int(slot/sessionsPerChunk) == len(t.chunks) {
		t.chunks = append(t.chunks, new([sessionsPerChunk]sessionRecord))
	}
	t.usedSlots++
	return slot
}

// remove forgets the session with access key id, if there is one.
func (t *sessionTable) remove(id string) {
	delete(t.other, id)
	k, ok := keyOf(id)
	if !ok {
		return
	}
	if slot, found := t.index[k]; found {
		t.freeSlot(slot)
	}
}

func (t *sessionTable) freeSlot(slot uint32) {
	r := t.record(slot)
	delete(t.index, r.id)
	t.releaseShape(r.shape)
	// The gen stays: it tells this slot's stale heap entries from its next occupant's.
	*r = sessionRecord{gen: r.gen}
	t.freeSlots = append(t.freeSlots, slot)
}

// sweep forgets the sessions past their retention at now: each is popped off the expiry heap
// when due, so the cost is O(log n) per session forgotten, none for the others.
func (t *sessionTable) sweep(now time.Time) {
	at := expiry{sec: now.Unix(), nsec: int32(now.Nanosecond())}
	for len(t.expiries) > 0 && t.expiries[0].before(at) {
		e := t.popExpiry()
		if r := t.record(e.slot); r.gen == e.gen && r.id != (sessionKey{}) {
			t.freeSlot(e.slot)
		}
	}
	if len(t.other) == 0 || (now.Sub(t.otherSwept) < time.Minute && now.After(t.otherSwept)) {
		return
	}
	t.otherSwept = now
	for id, sess := range t.other {
		if now.Sub(sess.Expiration) > sessionRetention {
			delete(t.other, id)
		}
	}
}

// get returns the session with access key id. Its strings and slices of the shape are shared
// by every session of that shape, as a copied Session shares them: they must not be modified.
func (t *sessionTable) get(id string) (Session, bool) {
	if k, ok := keyOf(id); ok {
		if slot, found := t.index[k]; found {
			return t.decode(id, t.record(slot)), true
		}
	}
	if sess, found := t.other[id]; found {
		return *sess, true
	}
	return Session{}, false
}

// credential returns what SigV4 needs of the session with access key id: one allocation for
// the secret and the token instead of a whole Session.
func (t *sessionTable) credential(id string) (secret, token string, expires time.Time, ok bool) {
	if k, isKey := keyOf(id); isKey {
		if slot, found := t.index[k]; found {
			r := t.record(slot)
			var b strings.Builder
			b.Grow(sessionSecretLen + sessionTokenLen)
			b.Write(r.secret[:])
			b.Write(r.token[:])
			both := b.String()
			return both[:sessionSecretLen], both[sessionSecretLen:], time.Unix(r.expiresSec, int64(r.expiresNsec)).UTC(), true
		}
	}
	if sess, found := t.other[id]; found {
		return sess.SecretAccessKey, sess.SessionToken, sess.Expiration, true
	}
	return "", "", time.Time{}, false
}

func (t *sessionTable) decode(id string, r *sessionRecord) Session {
	sh := &t.shapes[r.shape]
	var b strings.Builder
	b.Grow(sessionSecretLen + sessionTokenLen + int(r.nameLen))
	b.Write(r.secret[:])
	b.Write(r.token[:])
	b.Write(r.name[:r.nameLen])
	all := b.String()
	return Session{
		AccessKeyID:       id,
		SecretAccessKey:   all[:sessionSecretLen],
		SessionToken:      all[sessionSecretLen : sessionSecretLen+sessionTokenLen],
		SessionName:       all[sessionSecretLen+sessionTokenLen:],
		Issued:            time.Unix(r.issuedSec, int64(r.issuedNsec)).UTC(),
		Expiration:        time.Unix(r.expiresSec, int64(r.expiresNsec)).UTC(),
		Account:           sh.account,
		RoleARN:           sh.roleARN,
		RoleName:          sh.roleName,
		RoleID:            sh.roleID,
		SourceIdentity:    sh.sourceIdentity,
		Tags:              sh.tags,
		TransitiveTagKeys: sh.transitiveTagKeys,
		Policies:          sh.policies,
		Chained:           sh.chained,
		IssuedTo:          sh.issuedTo,
	}
}

// acquireShape returns the slot of sess's shape, adding it when no session has it yet.
func (t *sessionTable) acquireShape(sess *Session) uint32 {
	t.keyBuf = appendShapeKey(t.keyBuf[:0], sess)
	if i, ok := t.shapeIndex[string(t.keyBuf)]; ok { // the conversion does not allocate
		t.shapes[i].refs++
		return i
	}
	key := string(t.keyBuf)
	sh := sessionShape{key: key, refs: 1, account: sess.Account, roleARN: sess.RoleARN, roleName: sess.RoleName,
		roleID: sess.RoleID, sourceIdentity: sess.SourceIdentity, issuedTo: sess.IssuedTo, chained: sess.Chained,
		tags: sess.Tags, transitiveTagKeys: sess.TransitiveTagKeys, policies: sess.Policies}
	var i uint32
	if n := len(t.freeShapes); n > 0 {
		i = t.freeShapes[n-1]
		t.freeShapes = t.freeShapes[:n-1]
		t.shapes[i] = sh
	} else {
		i = uint32(len(t.shapes))
		t.shapes = append(t.shapes, sh)
	}
	t.shapeIndex[key] = i
	return i
}

func (t *sessionTable) releaseShape(i uint32) {
	sh := &t.shapes[i]
	if sh.refs--; sh.refs > 0 {
		return
	}
	delete(t.shapeIndex, sh.key)
	t.shapes[i] = sessionShape{}
	t.freeShapes = append(t.freeShapes, i)
}

// appendShapeKey appends a session's shared fields, each with its length so that no two
// shapes have the same key; a session policy counts by its kind, name and document, so that
// the same policy sent with every request is kept once.
func appendShapeKey(b []byte, sess *Session) []byte {
	b = appendKeyField(b, sess.Account)
	b = appendKeyField(b, sess.RoleARN)
	b = appendKeyField(b, sess.RoleName)
	b = appendKeyField(b, sess.RoleID)
	b = appendKeyField(b, sess.SourceIdentity)
	b = appendKeyField(b, sess.IssuedTo)
	b = strconv.AppendBool(b, sess.Chained)
	b = strconv.AppendInt(b, int64(len(sess.Tags)), 10)
	for _, tg := range sess.Tags {
		b = appendKeyField(b, tg.Key)
		b = appendKeyField(b, tg.Value)
	}
	b = strconv.AppendInt(b, int64(len(sess.TransitiveTagKeys)), 10)
	for _, k := range sess.TransitiveTagKeys {
		b = appendKeyField(b, k)
	}
	b = strconv.AppendInt(b, int64(len(sess.Policies)), 10)
	for _, p := range sess.Policies {
		b = strconv.AppendInt(b, int64(p.Kind()), 10)
		b = appendKeyField(b, p.Name())
		doc := p.Document()
		b = strconv.AppendInt(b, int64(len(doc)), 10)
		b = append(b, ':')
		b = append(b, doc...)
	}
	return b
}

func appendKeyField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func (t *sessionTable) pushExpiry(e expiry) {
	h := append(t.expiries, e)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h[i].before(h[parent]) {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
	t.expiries = h
}

func (t *sessionTable) popExpiry() expiry {
	h := t.expiries
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].before(h[small]) {
			small = l
		}
		if r < len(h) && h[r].before(h[small]) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	t.expiries = h
	return top
}
