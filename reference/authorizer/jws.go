package authorizer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
)

// compactJWS is a compact JWS parsed once: its protected header's alg, kid and typ, the
// signing input the signature covers, the decoded payload and the signature.
type compactJWS struct {
	alg, kid, typ string
	signingInput  string
	payload       []byte
	sig           []byte
	// inputSum is the signing input's SHA-256 when summed (the cache key computed it).
	inputSum [sha256.Size]byte
	summed   bool
	// buf holds payload and sig, from decodeBufs; release returns it once nothing reads them.
	buf *[]byte
}

// decodeBufs hold the decoded parts of compact tokens between parseCompact and release: a
// verified decision copies out every value it keeps, so the bytes can serve the next token.
var decodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledBuf bounds the buffers and claim maps kept for reuse, so that one huge token does
// not pin its memory.
const maxPooledBuf = 16 << 10

// release hands t's buffer back for reuse; t's payload and sig must not be read afterwards.
func (t *compactJWS) release() {
	if t.buf != nil && cap(*t.buf) <= maxPooledBuf {
		decodeBufs.Put(t.buf)
	}
	t.buf, t.payload, t.sig = nil, nil, nil
}

// strictB64 refuses non-canonical encodings (stray low bits in the last character): go-jose
// signs and verifies over its re-encoding of the decoded parts, which differs from the token's
// own text exactly for those.
var strictB64 = base64.RawURLEncoding.Strict()

// parseCompact parses tokens of the shape IdPs issue: three canonical base64url parts, and a
// protected header that is a flat JSON object of alg (required), kid and typ, each a plain
// printable ASCII string at most once. ok is false for any other shape; the general path
// (go-oidc and go-jose) then decides, so that every rule it applies to headers (crit, jwk, jku,
// x5u, x5c, b64, nonce, duplicate names, escapes, whitespace, padding) keeps applying exactly
// as it does, deny details included.
func parseCompact(raw string) (compactJWS, bool) {
	h, rest, ok1 := strings.Cut(raw, ".")
	body, sig, ok2 := strings.Cut(rest, ".")
	// Go's decoder refuses every byte outside the base64url alphabet but \r and \n, which it
	// skips even when strict: refusing those two leaves exactly the alphabet.
	if !ok1 || !ok2 || strings.IndexByte(sig, '.') >= 0 || strings.IndexByte(raw, '\r') >= 0 || strings.IndexByte(raw, '\n') >= 0 {
		return compactJWS{}, false
	}
	// The three parts decode into one buffer.
	enc := strictB64
	t := compactJWS{buf: decodeBufs.Get().(*[]byte)}
	size := enc.DecodedLen(len(h)) + enc.DecodedLen(len(body)) + enc.DecodedLen(len(sig))
	if cap(*t.buf) < size {
		*t.buf = make([]byte, size)
	}
	buf := (*t.buf)[:size]
	n, err := enc.Decode(buf, []byte(h))
	if err != nil {
		t.release()
		return compactJWS{}, false
	}
	hdr, buf := buf[:n:n], buf[n:]
	if !parseFlatHeader(hdr, &t) {
		t.release()
		return compactJWS{}, false
	}
	if n, err = enc.Decode(buf, []byte(body)); err != nil {
		t.release()
		return compactJWS{}, false
	}
	t.payload, buf = buf[:n:n], buf[n:]
	if n, err = enc.Decode(buf, []byte(sig)); err != nil {
		t.release()
		return compactJWS{}, false
	}
	t.sig = buf[:n:n]
	t.signingInput = raw[:len(h)+1+len(body)]
	return t, true
}

// parseFlatHeader reads {"alg":"…","kid":"…","typ":"…"} (any order, JSON whitespace, kid and
// typ optional) into t, and Entra ID's x5t (and x5t#S256), certificate thumbprints that
// repeat the kid: go-jose keeps them as extra headers nobody reads, so they are passed over
// here too. Any other member, a repeated one, a value that is not a string, an escape or a
// byte outside printable ASCII makes it return false.
func parseFlatHeader(b []byte, t *compactJWS) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	var seen [5]bool
	for first := true; ; first = false {
		i = skipWS(b, i+1)
		if first && i < len(b) && b[i] == '}' {
			return false // {} names no alg
		}
		name, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		val, j, ok := plainString(b, skipWS(b, i+1))
		if !ok {
			return false
		}
		var slot int
		switch string(name) {
		case "alg":
			slot, t.alg = 0, internedValue(val)
		case "kid":
			slot, t.kid = 1, string(val)
		case "typ":
			slot, t.typ = 2, internedValue(val)
		case "x5t":
			slot = 3
		case "x5t#S256":
			slot = 4
		default:
			return false
		}
		if seen[slot] {
			return false
		}
		seen[slot] = true
		i = skipWS(b, j)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipWS(b, i+1) == len(b) && seen[0] && t.alg != ""
		}
		if b[i] != ',' {
			return false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] without escapes, of printable ASCII, and returns its
// bytes and the index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// internedValue is string(v), without an allocation for the algorithms and typ values tokens
// carry.
func internedValue(v []byte) string {
	switch string(v) {
	case "RS256":
		return "RS256"
	case "PS256":
		return "PS256"
	case "ES256":
		return "ES256"
	case "JWT":
		return "JWT"
	case "at+jwt":
		return "at+jwt"
	case "application/at+jwt":
		return "application/at+jwt"
	}
	return string(v)
}

// verifyJWS checks a signature with the standard library, as go-jose does for the same
// algorithm and key: PKCS #1 v1.5 and PSS (any salt length) over RSA, r||s of the curve's size
// over ECDSA, Ed25519 over the signing input itself. inputSum, when not nil, is the signing
// input's SHA-256, already computed.
func verifyJWS(key any, alg, input string, sig []byte, inputSum *[sha256.Size]byte) error {
	var h crypto.Hash
	switch alg {
	case "RS256", "PS256", "ES256":
		h = crypto.SHA256
	case "RS384", "PS384", "ES384":
		h = crypto.SHA384
	case "RS512", "PS512", "ES512":
		h = crypto.SHA512
	case "EdDSA":
		k, ok := key.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(k, []byte(input), sig) {
			return errBadSignature
		}
		return nil
	default:
		return errBadSignature
	}
	var digest []byte
	if h == crypto.SHA256 {
		// crypto/rsa keeps no reference to the digest, but escape analysis cannot tell: a
		// pooled array keeps it (and the caller's token) off the heap.
		sum := digestBufs.Get().(*[sha256.Size]byte)
		defer digestBufs.Put(sum)
		if inputSum != nil {
			*sum = *inputSum
		} else {
			*sum = sum256(nil, input)
		}
		digest = sum[:]
	} else {
		d := h.New()
		d.Write([]byte(input))
		digest = d.Sum(make([]byte, 0, 64))
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg[0] {
		case 'R':
			return rsa.VerifyPKCS1v15(k, h, digest, sig)
		case 'P':
			return rsa.VerifyPSS(k, h, digest, sig, nil)
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if alg[0] != 'E' || len(sig) != 2*size {
			return errBadSignature
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if ecdsa.Verify(k, digest, r, s) {
			return nil
		}
	}
	return errBadSignature
}

// digestBufs hold the SHA-256 digests verifyJWS hands to crypto/rsa and crypto/ecdsa.
var digestBufs = sync.Pool{New: func() any { return new([sha256.Size]byte) }}

// hashBufs hold the bytes sum256 hashes: strings reach crypto/sha256 without a copy of their
// own per call.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// sum256 is the SHA-256 of prefix followed by s.
func sum256(prefix []byte, s string) [sha256.Size]byte {
	bp := hashBufs.Get().(*[]byte)
	b := append(append((*bp)[:0], prefix...), s...)
	sum := sha256.Sum256(b)
	if cap(b) <= 64<<10 {
		*bp = b
		hashBufs.Put(bp)
	}
	return sum
}

var errBadSignature = errors.New("the signature does not verify")

// The registered claims as go-oidc reads them, with its types: its checks after the signature
// are applied with the same decoding, so that a token passes or fails them exactly as it
// would in go-oidc, and its errors read the same (classify quotes them in a last resort). The
// type names match go-oidc's because encoding/json puts them in its error messages.
type idToken struct {
	Issuer       string                 `json:"iss"`
	Subject      string                 `json:"sub"`
	Audience     audience               `json:"aud"`
	Expiry       jsonTime               `json:"exp"`
	IssuedAt     jsonTime               `json:"iat"`
	NotBefore    *jsonTime              `json:"nbf"`
	Nonce        string                 `json:"nonce"`
	AtHash       string                 `json:"at_hash"`
	ClaimNames   map[string]string      `json:"_claim_names"`
	ClaimSources map[string]claimSource `json:"_claim_sources"`
}

type claimSource struct {
	Endpoint    string `json:"endpoint"`
	AccessToken string `json:"access_token"`
}

// audience is a string or a list of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// jsonTime is a NumericDate truncated to whole seconds, read through json.Number.
type jsonTime time.Time

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	secs, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil {
			return ferr
		}
		secs = int64(f)
	}
	*j = jsonTime(time.Unix(secs, 0))
	return nil
}

// Google's tokens may carry its issuer without the scheme; go-oidc accepts that for Google
// alone, and so does this path.
const (
	googleIssuer         = "https://accounts.google.com"
	googleIssuerNoScheme = "accounts.google.com"
)

// oidcChecks applies go-oidc's checks after the signature (the payload decodes as its claims,
// distributed claims name their sources, the exact issuer, exp, nbf with five minutes of
// leeway) and returns the expiry as go-oidc reads it.
func oidcChecks(payload []byte, issuer string, now time.Time) (time.Time, error) {
	var tok idToken
	if err := json.Unmarshal(payload, &tok); err != nil {
		return time.Time{}, fmt.Errorf("oidc: failed to unmarshal claims: %v", err)
	}
	for _, src := range tok.ClaimNames {
		if src == "" {
			return time.Time{}, errors.New("oidc: failed to obtain source from claim name")
		}
		if _, ok := tok.ClaimSources[src]; !ok {
			return time.Time{}, errors.New("oidc: source does not exist")
		}
	}
	if tok.Issuer != issuer && !(issuer == googleIssuer && tok.Issuer == googleIssuerNoScheme) {
		return time.Time{}, fmt.Errorf("oidc: id token issued by a different provider, expected %q got %q", issuer, tok.Issuer)
	}
	exp := time.Time(tok.Expiry)
	if exp.Before(now) {
		return time.Time{}, &oidc.TokenExpiredError{Expiry: exp}
	}
	if tok.NotBefore != nil {
		if nbf := time.Time(*tok.NotBefore); now.Add(notBeforeLeeway).Before(nbf) {
			return time.Time{}, fmt.Errorf("oidc: current time %v before the nbf (not before) time: %v", now, nbf)
		}
	}
	return exp, nil
}

// registeredClaims are the claims go-oidc decodes (idToken's fields).
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "_claim_names", "_claim_sources"}

// registeredByLength lists registeredClaims by the length of their names.
var registeredByLength = func() (byLen [len("_claim_sources") + 1][]string) {
	for _, n := range registeredClaims {
		byLen[len(n)] = append(byLen[len(n)], n)
	}
	return byLen
}()

// foldsToRegistered reports whether an ASCII name differs from a registered claim's name
// only in case.
func foldsToRegistered(name string) bool {
	if len(name) >= len(registeredByLength) {
		return false
	}
	for _, n := range registeredByLength[len(name)] {
		if name != n && strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// claimsChecks is oidcChecks read from claims already decoded, for payloads whose registered
// claims have the plain shape IdPs issue; ok is false for any other payload, which oidcChecks
// then decodes itself. Plain means: decoded by splitObject with no member name repeated
// (encoding/json reports an earlier duplicate's type error, which a decoded map does not
// show; splitObject also leaves names with escapes or non-ASCII bytes to json.Unmarshal),
// each registered name only in its exact case (encoding/json matches struct fields
// case-insensitively), no escape anywhere in the payload, no distributed claims, the string claims
// strings, the dates numbers, aud a string or a list.
func claimsChecks(payload []byte, c claimSet, plain bool, issuer string, now time.Time) (exp time.Time, err error, ok bool) {
	if c == nil || !plain || bytes.IndexByte(payload, '\\') >= 0 {
		return time.Time{}, nil, false
	}
	for _, n := range [...]string{"sub", "nonce", "at_hash"} {
		if raw, present := c[n]; present && !plainJSONString(raw) {
			return time.Time{}, nil, false
		}
	}
	if _, present := c["_claim_names"]; present {
		return time.Time{}, nil, false
	}
	if _, present := c["_claim_sources"]; present {
		return time.Time{}, nil, false
	}
	if raw, present := c["aud"]; present && !plainJSONString(raw) && (len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, new([]string)) != nil) {
		return time.Time{}, nil, false
	}
	var iss []byte
	if raw, present := c["iss"]; present {
		if !plainJSONString(raw) {
			return time.Time{}, nil, false
		}
		iss = raw[1 : len(raw)-1]
	}
	exp, expOK := jsonNumberTime(c, "exp")
	_, iatOK := jsonNumberTime(c, "iat")
	nbf, nbfOK := jsonNumberTime(c, "nbf")
	if !expOK || !iatOK || !nbfOK {
		return time.Time{}, nil, false
	}
	// The checks themselves, in go-oidc's order.
	if string(iss) != issuer && !(issuer == googleIssuer && string(iss) == googleIssuerNoScheme) {
		return time.Time{}, fmt.Errorf("oidc: id token issued by a different provider, expected %q got %q", issuer, iss), true
	}
	if exp.Before(now) {
		return time.Time{}, &oidc.TokenExpiredError{Expiry: exp}, true
	}
	if _, present := c["nbf"]; present && now.Add(notBeforeLeeway).Before(nbf) {
		return time.Time{}, fmt.Errorf("oidc: current time %v before the nbf (not before) time: %v", now, nbf), true
	}
	return exp, nil, true
}

// plainJSONString reports whether raw is a JSON string of printable ASCII without escapes,
// whose value is its text between the quotes.
func plainJSONString(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	for _, b := range raw[1 : len(raw)-1] {
		if b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// jsonNumberTime reads a date claim as jsonTime does: a JSON number, whole when it parses as
// an int64, else truncated from its float value. Absent is the zero time; ok is false for
// anything but a number.
func jsonNumberTime(c claimSet, name string) (time.Time, bool) {
	raw, present := c[name]
	if !present {
		return time.Time{}, true
	}
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return time.Time{}, false
	}
	if secs, ok := smallUint(raw); ok { // the common case, read without strconv
		return time.Unix(secs, 0), true
	}
	s := string(raw)
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return time.Time{}, false
		}
		secs = int64(f)
	}
	return time.Unix(secs, 0), true
}

// smallUint reads up to 18 decimal digits (no sign, no leading zero), which int64 holds;
// ok is false for anything else.
func smallUint(b []byte) (n int64, ok bool) {
	if len(b) == 0 || len(b) > 18 || b[0] == '0' && len(b) > 1 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// decodeClaims decodes a payload into a claimSet exactly as json.Unmarshal does, faster for
// the common object whose names are plain ASCII: one scan checks the syntax as json.Valid
// does and cuts the members (a value is its bytes, as json.RawMessage keeps them; a repeated
// name keeps its last value). Other payloads, invalid ones included, go to json.Unmarshal.
// plain reports the scan's case with no name repeated and no name that differs from a
// registered claim's only in case, which claimsChecks needs.
func decodeClaims(payload []byte) (c claimSet, plain bool, err error) {
	if c, members, folded, ok := splitObject(payload); ok {
		return c, members == len(c) && !folded, nil
	}
	var u claimSet // declared here so that only this path allocates it
	err = json.Unmarshal(payload, &u)
	return u, false, err
}

// splitObject returns the members of a JSON object whose names are printable ASCII without
// escapes, how many there were (repeated names counted each time), and whether a name
// differs from a registered claim's only in case. ok is false for anything else, invalid
// JSON included.
func splitObject(b []byte) (c claimSet, members int, folded, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, 0, false, false
	}
	c = claimMaps.Get().(claimSet)
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return c, 0, false, skipWS(b, i+1) == len(b)
	}
	for members = 1; ; members++ {
		if i >= len(b) || b[i] != '"' {
			return nil, 0, false, false
		}
		end, upper := i+1, false
		for ; end < len(b) && b[end] != '"'; end++ {
			if c := b[end]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				return nil, 0, false, false
			}
			upper = upper || b[end] >= 'A' && b[end] <= 'Z'
		}
		if end >= len(b) {
			return nil, 0, false, false
		}
		name := claimName(b[i+1 : end])
		// The registered names are lower-case ASCII: only a name with an upper-case letter
		// can fold to one without being it.
		folded = folded || upper && foldsToRegistered(name)
		i = skipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, false, false
		}
		start := skipWS(b, i+1)
		stop, ok := scanValue(b, start, 0)
		if !ok {
			return nil, 0, false, false
		}
		c[name] = json.RawMessage(b[start:stop:stop])
		i = skipWS(b, stop)
		switch {
		case i < len(b) && b[i] == '}':
			return c, members, folded, skipWS(b, i+1) == len(b)
		case i < len(b) && b[i] == ',':
			i = skipWS(b, i+1)
		default:
			return nil, 0, false, false
		}
	}
}

// claimMaps hold the claim sets splitObject fills, for reuse once a verification has copied
// out what it keeps (releaseClaims).
var claimMaps = sync.Pool{New: func() any { return make(claimSet, 16) }}

// releaseClaims empties c and keeps it for reuse; c must not be read afterwards.
func releaseClaims(c claimSet) {
	if c == nil || len(c) > 64 {
		return
	}
	clear(c)
	claimMaps.Put(c)
}

// maxScanDepth bounds scanValue's nesting; deeper values are left to json.Unmarshal.
const maxScanDepth = 32

// scanValue returns the index after the JSON value at b[i] (RFC 8259, as encoding/json reads
// it: strings may hold any byte but control characters), and false when there is none.
func scanValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{' || c == '[':
		if depth >= maxScanDepth {
			return 0, false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closing {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i, ok = scanString(b, i); !ok {
					return 0, false
				}
				if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipWS(b, i+1)
			}
			if i, ok = scanValue(b, i, depth+1); !ok {
				return 0, false
			}
			switch i = skipWS(b, i); {
			case i < len(b) && b[i] == closing:
				return i + 1, true
			case i < len(b) && b[i] == ',':
				i = skipWS(b, i+1)
			default:
				return 0, false
			}
		}
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	}
	return 0, false
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanString returns the index after the JSON string at b[i].
func scanString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if j++; j >= len(b) {
				return 0, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return 0, false
				}
				for _, h := range b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false
					}
				}
				j += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// scanNumber returns the index after the JSON number at b[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// claimName is string(b), without an allocation for the names IdPs' access tokens use.
func claimName(b []byte) string {
	switch string(b) {
	case "iss":
		return "iss"
	case "sub":
		return "sub"
	case "aud":
		return "aud"
	case "exp":
		return "exp"
	case "iat":
		return "iat"
	case "nbf":
		return "nbf"
	case "jti":
		return "jti"
	case "scope":
		return "scope"
	case "scp":
		return "scp"
	case "client_id":
		return "client_id"
	case "azp":
		return "azp"
	case "email":
		return "email"
	case "tenant":
		return "tenant"
	case "token_use":
		return "token_use"
	case "ver":
		return "ver"
	case "tid":
		return "tid"
	case "oid":
		return "oid"
	case "auth_time":
		return "auth_time"
	case "uti":
		return "uti"
	case "name":
		return "name"
	case "email_verified":
		return "email_verified"
	case "groups":
		return "groups"
	case "roles":
		return "roles"
	case "sid":
		return "sid"
	case "cid":
		return "cid"
	case "uid":
		return "uid"
	case "typ":
		return "typ"
	case "acr":
		return "acr"
	case "amr":
		return "amr"
	case "gty":
		return "gty"
	case "nonce":
		return "nonce"
	case "at_hash":
		return "at_hash"
	case "username":
		return "username"
	case "preferred_username":
		return "preferred_username"
	case "appid":
		return "appid"
	case "idp":
		return "idp"
	}
	return string(b)
}
