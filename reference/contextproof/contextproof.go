// Package contextproof lets the MCP server tell a decided request context that the deployment's
// authorizer made from one that whoever reached the server's port wrote: the authorizer signs,
// with a secret it shares with the MCP server, the headers it decided (role, source identity,
// session tags, limits) together with the request's method and path, a nonce and the time; the
// gateway forwards the signature in X-Context-Proof with the other headers; the server checks
// it before it trusts any of them.
//
// # Why the authorizer signs (and not the gateway, or mTLS)
//
// API Gateway cannot compute anything per request, but its Lambda authorizer can, and the
// gateway already copies the authorizer's context into headers (integration request parameter
// mapping): a proof in that context reaches the server on AWS exactly as in the kit. Unlike
// mTLS between gateway and server, it proves the decision itself rather than the connection,
// and it works in every topology (in-process, `mcpsso up`, containers, AWS). Unlike forwarding
// the caller's token for the server to verify again, it needs no IdP access, role store or
// second copy of the authorizer's logic in the server, and the token never leaves the gateway.
// The price: a proof names one request, so the authorizer's result cache must stay off
// (authorizerResultTtlInSeconds: 0, as the reference gateway config has it) — a cached answer
// replays its proof, and the second request is refused as a replay.
//
// # Wire format (for third-party servers)
//
//	X-Context-Proof: v1.<unix seconds>.<nonce>.<signature>
//
// nonce is 16-128 of [A-Za-z0-9_-] (the gateway's request id when it fits, else random);
// signature is base64url without padding of HMAC-SHA256(secret, canonical), where canonical
// is the line "mcpsso-context-proof-v1" followed by, for each of the unix seconds (decimal),
// the nonce, the HTTP method, the request path, and the values of x-decided-role,
// x-source-identity, x-session-tags and x-limits exactly as received ("" for one absent), one
// line "<length in bytes>:<value>" — every line ending in "\n". The server accepts a proof
// whose signature matches (compared in constant time), whose time is within the window of its
// own clock (default 60 s either way), and whose nonce it has not accepted before; anything
// else is refused before any AWS call. The secret is at least 32 bytes (generate one with
// `openssl rand -hex 32`); both sides read it from their secrets source at start-up (an
// environment variable or a file: ECS and Lambda inject Secrets Manager values as either).
package contextproof

import (
	"container/heap"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Header is the request header that carries the proof.
const Header = "X-Context-Proof"

// Limits of the format and defaults.
const (
	// MinSecretBytes is the shortest secret accepted: 256 bits.
	MinSecretBytes = 32
	// MaxSecretBytes bounds a secret read from a file or the environment.
	MaxSecretBytes = 4096
	// DefaultWindow is how far a proof's time may be from the verifier's clock, either way.
	DefaultWindow = time.Minute
	// MaxWindow bounds the window: a proof should live for the request's transit, not longer.
	MaxWindow = 10 * time.Minute
	// DefaultReplayEntries bounds the nonces a ReplayGuard remembers at once.
	DefaultReplayEntries = 1 << 20

	version       = "v1"
	domain        = "mcpsso-context-proof-v1\n"
	minNonceBytes = 16
	maxNonceBytes = 128
	macBytes      = sha256.Size
	// maxProofBytes: "v1." + 12 digits + "." + nonce + "." + 43 characters of signature.
	maxProofBytes = 3 + 12 + 1 + maxNonceBytes + 1 + 43
)

// Context is what a proof covers: the request as the MCP server receives it and the decided
// headers' values exactly as sent, "" for one not sent.
type Context struct {
	Method, Path   string
	DecidedRole    string // x-decided-role
	SourceIdentity string // x-source-identity
	SessionTags    string // x-session-tags
	Limits         string // x-limits
}

// Reason is the stable, machine-readable cause of a refused proof (a log and metric label).
type Reason string

// The reasons.
const (
	ReasonMissing   Reason = "missing_context_proof"   // no X-Context-Proof
	ReasonMalformed Reason = "malformed_context_proof" // not v1.<seconds>.<nonce>.<signature>
	ReasonInvalid   Reason = "invalid_context_proof"   // the signature does not match this request and context
	ReasonStale     Reason = "stale_context_proof"     // signed outside the window
	ReasonReplayed  Reason = "replayed_context_proof"  // its nonce was accepted before
	ReasonFull      Reason = "context_proof_replay_guard_full"
)

// Error is a refused proof.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Detail }

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Key signs and verifies proofs with one secret.
type Key struct{ secret []byte }

// NewKey makes a Key of secret, which must be MinSecretBytes to MaxSecretBytes long.
func NewKey(secret []byte) (*Key, error) {
	if n := len(secret); n < MinSecretBytes || n > MaxSecretBytes {
		return nil, fmt.Errorf("context proof secret: %d bytes; it must be %d to %d bytes (e.g. openssl rand -hex 32)", n, MinSecretBytes, MaxSecretBytes)
	}
	return &Key{secret: append([]byte(nil), secret...)}, nil
}

// ParseSecret reads a secret as an environment variable or a file holds it: surrounding
// whitespace (a file's final newline) is dropped; the rest must be printable and at least
// MinSecretBytes long.
func ParseSecret(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return nil, errors.New("context proof secret: holds a control or non-printable character; use printable text such as the output of openssl rand -hex 32")
	}
	if _, err := NewKey([]byte(s)); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// NewSecret is a fresh random secret in the text form ParseSecret reads (64 hex digits).
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewNonce is a fresh random nonce.
func NewNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ValidNonce reports whether s may be a proof's nonce: 16-128 of [A-Za-z0-9_-].
func ValidNonce(s string) bool {
	return len(s) >= minNonceBytes && len(s) <= maxNonceBytes && base64URLOnly(s)
}

// base64URLOnly reports whether s holds only the base64url alphabet.
func base64URLOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Sign returns the X-Context-Proof value for c, signed at issued with nonce (see ValidNonce).
func (k *Key) Sign(c Context, nonce string, issued time.Time) (string, error) {
	if !ValidNonce(nonce) {
		return "", fmt.Errorf("context proof: nonce %q must be %d-%d of A-Z a-z 0-9 _ -", nonce, minNonceBytes, maxNonceBytes)
	}
	secs := issued.Unix()
	if secs < 0 || secs > 999999999999 {
		return "", fmt.Errorf("context proof: time %v is outside the format's range", issued)
	}
	return version + "." + strconv.FormatInt(secs, 10) + "." + nonce + "." +
		base64.RawURLEncoding.EncodeToString(k.mac(c, secs, nonce)), nil
}

func (k *Key) mac(c Context, secs int64, nonce string) []byte {
	m := hmac.New(sha256.New, k.secret)
	_, _ = m.Write(canonical(c, secs, nonce))
	return m.Sum(nil)
}

// canonical is the signed text: a domain line, then one "<length>:<value>" line per field, so
// that no two different contexts share one text whatever their values hold.
func canonical(c Context, secs int64, nonce string) []byte {
	fields := [...]string{strconv.FormatInt(secs, 10), nonce, c.Method, c.Path, c.DecidedRole, c.SourceIdentity, c.SessionTags, c.Limits}
	n := len(domain)
	for _, f := range fields {
		n += len(f) + 12
	}
	b := make([]byte, 0, n)
	b = append(b, domain...)
	for _, f := range fields {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, '\n')
	}
	return b
}

// Proof is a verified proof.
type Proof struct {
	Issued time.Time
	Nonce  string
}

// Verify checks value, an X-Context-Proof header value, against c: the format, then the
// signature (in constant time), then that it was issued within window of now. It does not
// check for replays: ReplayGuard.Admit does. Every refusal is an *Error.
func (k *Key) Verify(value string, c Context, now time.Time, window time.Duration) (Proof, error) {
	secs, nonce, sig, err := decode(value)
	if err != nil {
		return Proof{}, err
	}
	if !hmac.Equal(sig, k.mac(c, secs, nonce)) {
		return Proof{}, refuse(ReasonInvalid, "the signature does not match this request's method, path and decided headers under the shared secret: the context was not decided by this deployment's authorizer for this request, or a header was changed on the way")
	}
	issued := time.Unix(secs, 0)
	if age := now.Sub(issued); age > window || age < -window {
		return Proof{}, refuse(ReasonStale, "signed at %s, %s from this server's clock; proofs are good for %s either way (a replay, or clocks out of sync)",
			issued.UTC().Format(time.RFC3339), age.Round(time.Second), window)
	}
	return Proof{Issued: issued, Nonce: nonce}, nil
}

// decode splits a proof into its time, nonce and signature, strictly.
func decode(value string) (int64, string, []byte, error) {
	const shape = "must be v1.<unix seconds>.<nonce>.<base64url signature>"
	if value == "" {
		return 0, "", nil, refuse(ReasonMissing, "the request carries no %s header: only the gateway, with its authorizer's proof, may call this server", Header)
	}
	if len(value) > maxProofBytes {
		return 0, "", nil, refuse(ReasonMalformed, "%d bytes, over the %d a proof can take", len(value), maxProofBytes)
	}
	parts := strings.Split(value, ".")
	if len(parts) != 4 || parts[0] != version {
		return 0, "", nil, refuse(ReasonMalformed, "%s", shape)
	}
	digits := parts[1]
	if digits == "" || len(digits) > 12 || strings.TrimLeft(digits, "0123456789") != "" || len(digits) > 1 && digits[0] == '0' {
		return 0, "", nil, refuse(ReasonMalformed, "the time must be 1-12 decimal digits of unix seconds without leading zeros; %s", shape)
	}
	secs, _ := strconv.ParseInt(digits, 10, 64) // 12 digits cannot overflow
	if !ValidNonce(parts[2]) {
		return 0, "", nil, refuse(ReasonMalformed, "the nonce must be %d-%d of A-Z a-z 0-9 _ -; %s", minNonceBytes, maxNonceBytes, shape)
	}
	// The decoder skips \r and \n even when strict: checking the alphabet first keeps one
	// signature to one spelling.
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(sig) != macBytes || !base64URLOnly(parts[3]) {
		return 0, "", nil, refuse(ReasonMalformed, "the signature must be %d bytes of unpadded base64url (HMAC-SHA256); %s", macBytes, shape)
	}
	return secs, parts[2], sig, nil
}

// ReplayGuard remembers the nonces of accepted proofs for as long as they could verify, so that
// each proof is accepted once. It is safe for concurrent use.
type ReplayGuard struct {
	mu   sync.Mutex
	max  int
	seen map[string]time.Time // nonce → when it stops verifying
	exp  expiryHeap
}

// NewReplayGuard remembers at most max nonces at once (DefaultReplayEntries when max < 1).
func NewReplayGuard(max int) *ReplayGuard {
	if max < 1 {
		max = DefaultReplayEntries
	}
	return &ReplayGuard{max: max, seen: map[string]time.Time{}}
}

// Admit accepts p once: a nonce seen before (while it could still verify) is a replay. When
// the guard holds max live nonces it refuses rather than forget one (fail closed). window is
// the one p was verified with.
func (g *ReplayGuard) Admit(p Proof, window time.Duration, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.exp) > 0 && !g.exp[0].until.After(now) {
		e := heap.Pop(&g.exp).(expiry)
		if g.seen[e.nonce].Equal(e.until) {
			delete(g.seen, e.nonce)
		}
	}
	if until, ok := g.seen[p.Nonce]; ok && until.After(now) {
		return refuse(ReasonReplayed, "nonce %s was accepted before (signed at %s): a proof is good for one request",
			p.Nonce, p.Issued.UTC().Format(time.RFC3339))
	}
	if len(g.seen) >= g.max {
		return refuse(ReasonFull, "%d proofs accepted within the window are remembered already; refusing rather than forgetting one", g.max)
	}
	until := p.Issued.Add(window + time.Second)
	g.seen[p.Nonce] = until
	heap.Push(&g.exp, expiry{nonce: p.Nonce, until: until})
	return nil
}

// Len is how many nonces the guard remembers.
func (g *ReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

type expiry struct {
	nonce string
	until time.Time
}

// expiryHeap orders remembered nonces by when they can be forgotten.
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
