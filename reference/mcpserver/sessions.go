package mcpserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// sessionIDPrefix marks the session ids this server issues.
const sessionIDPrefix = "mcps-"

// sessionIdleTTL is how long an unused session is kept before mcp-go's sweeper ends it.
const sessionIdleTTL = time.Hour

// sessionBinder issues MCP session ids and remembers which source identity each belongs to.
// Sessions carry no authority: every request still brings and is checked on its own identity
// headers; the binding only stops one user from joining another user's session (its
// notification stream, its state). Ids are 192 random bits, so they cannot be guessed.
type sessionBinder struct {
	mu    sync.Mutex
	owner map[string]string // session id → source identity; ended sessions are deleted
}

func newSessionBinder() *sessionBinder { return &sessionBinder{owner: map[string]string{}} }

func (b *sessionBinder) issue(sourceIdentity string) string {
	var raw [24]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	id := sessionIDPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	b.owner[id] = sourceIdentity
	return id
}

// ownerOf returns the source identity id was issued to, if it was issued here.
func (b *sessionBinder) ownerOf(id string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	owner, ok := b.owner[id]
	return owner, ok
}

var (
	errUnknownSession = errors.New("unknown session id")
	errNotYourSession = errors.New("the session id belongs to another source identity")
)

// resolver gives mcp-go, for each request, a SessionIdManager bound to that request's source
// identity (put in the request context by Handler.ServeHTTP).
type resolver struct{ b *sessionBinder }

func (r resolver) ResolveSessionIdManager(req *http.Request) server.SessionIdManager {
	m := &boundManager{b: r.b}
	if req != nil {
		if st, ok := stateFrom(req.Context()); ok {
			m.sourceIdentity = st.id.SourceIdentity
		}
	}
	return m
}

// boundManager is a SessionIdManager for one request. Without a source identity (mcp-go's idle
// sweeper calls with no request) it can only end sessions.
type boundManager struct {
	b              *sessionBinder
	sourceIdentity string
}

func (m *boundManager) Generate() string {
	if m.sourceIdentity == "" {
		return "" // unreachable: ServeHTTP refuses requests without identity
	}
	return m.b.issue(m.sourceIdentity)
}

func (m *boundManager) Validate(id string) (bool, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	owner, ok := m.b.owner[id]
	switch {
	case !ok: // never issued, or ended: mcp-go answers 404 and the client starts anew
		return false, errUnknownSession
	case m.sourceIdentity == "" || owner != m.sourceIdentity:
		return false, errNotYourSession
	}
	return false, nil
}

func (m *boundManager) Terminate(id string) (bool, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	owner, ok := m.b.owner[id]
	if ok && m.sourceIdentity != "" && owner != m.sourceIdentity {
		return true, nil // not allowed: only its owner (or the idle sweeper) ends a session
	}
	delete(m.b.owner, id)
	return false, nil
}
