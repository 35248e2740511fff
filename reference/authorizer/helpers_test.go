package authorizer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/fixture"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// fakeClock is the one clock of a test: the IdP's and the authorizer's.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// signingKey is generated once: RSA key generation would dominate the tests' time.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// startIdP starts the real mock IdP on loopback with the test's clock.
func startIdP(t testing.TB, clock *fakeClock, opts ...mockidp.Option) *mockidp.Server {
	t.Helper()
	opts = append([]mockidp.Option{mockidp.WithClock(clock.Now), mockidp.WithSigningKey(signingKey())}, opts...)
	p, err := mockidp.Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// fixtureStore is the default fixture's mappings as a role store: what `mcpsso up` deploys.
func fixtureStore(t testing.TB, extra ...authorizer.StoreEntry) *authorizer.StaticStore {
	t.Helper()
	f := fixture.Default()
	var entries []authorizer.StoreEntry
	for _, m := range f.Mappings {
		entries = append(entries, authorizer.StoreEntry{Sub: m.Sub, Mapping: authorizer.Mapping{
			RoleARN: f.RoleARN(m.Account, m.Role),
			Tags:    m.Tags,
			Limits:  authorizer.Limits{RequestsPerMinute: m.Limits.RequestsPerMinute, SessionSeconds: m.Limits.SessionSeconds},
		}})
	}
	s, err := authorizer.NewStaticStore(append(entries, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// transport is a real HTTP transport that counts JWKS requests and can play the IdP being
// unreachable.
type transport struct {
	jwks atomic.Int64
	down atomic.Bool
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/jwks.json") {
		tr.jwks.Add(1)
	}
	if tr.down.Load() {
		return nil, errors.New("dial tcp: connect: connection refused (the test took the IdP down)")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// logBuffer collects JSON log lines safely from concurrent decisions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records decodes the log lines.
func (b *logBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// env is one authorizer wired to one IdP.
type env struct {
	clock *fakeClock
	idp   *mockidp.Server
	tr    *transport
	logs  *logBuffer
	az    *authorizer.Authorizer
}

func newEnv(t testing.TB, opts ...authorizer.Option) *env {
	t.Helper()
	clock := newFakeClock()
	e := &env{clock: clock, idp: startIdP(t, clock), tr: &transport{}, logs: &logBuffer{}}
	e.az = e.authorizer(t, opts...)
	return e
}

// authorizer builds an authorizer on the env's IdP; opts come last and win.
func (e *env) authorizer(t testing.TB, opts ...authorizer.Option) *authorizer.Authorizer {
	t.Helper()
	base := []authorizer.Option{
		authorizer.WithIssuer(e.idp.IssuerURL()),
		authorizer.WithJWKSURL(e.idp.JWKSURL()),
		authorizer.WithClock(e.clock.Now),
		authorizer.WithHTTPClient(&http.Client{Transport: e.tr, Timeout: 5 * time.Second}),
		authorizer.WithRoleStore(fixtureStore(t)),
		authorizer.WithLogger(slog.New(slog.NewJSONHandler(e.logs, nil))),
	}
	a, err := authorizer.New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) token(t testing.TB, user string, opts ...mockidp.TokenOption) string {
	t.Helper()
	tok, err := e.idp.TokenFor(context.Background(), user, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) forge(t testing.TB, f mockidp.Forgery, user string) string {
	t.Helper()
	tok, err := e.idp.Forge(context.Background(), f, user)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearer(tok string) authorizer.Request {
	return authorizer.Request{RequestID: "req-1", Authorization: []string{"Bearer " + tok}}
}

// decide runs one decision and fails the test on an unexpected error.
func (e *env) decide(t testing.TB, req authorizer.Request) authorizer.Decision {
	t.Helper()
	d, err := e.az.Decide(context.Background(), req)
	if err != nil {
		t.Fatalf("Decide: unexpected error %v (reason %s, detail %s)", err, d.Reason, d.Detail)
	}
	return d
}

// metric reads one sample of the authorizer's metrics ("" label values match any).
func metric(t testing.TB, a *authorizer.Authorizer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := a.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue samples
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}
