package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// signInput is everything needed to recompute a request's signature.
type signInput struct {
	r             *http.Request
	presigned     bool
	scope         Scope
	signedHeaders []string
	signedRaw     string // SignedHeaders as the client wrote it
	signature     string // the signature the client sent
	signedAt      time.Time
	amzDate       string     // X-Amz-Date as sent; equal to signedAt formatted
	payloadHash   string     // the payload hash line of the canonical request
	query         url.Values // presigned only: the parsed query
	secret        string
}

// signCheck is the outcome of recomputing a signature. The canonical
// request and string to sign are kept only when the signature did not match,
// for the error (S3 returns both).
type signCheck struct {
	ok               bool
	canonicalRequest string
	stringToSign     string
	err              error
}

// errUnreproducibleLength is the cause of a mismatch when content-length is
// signed but the request's length is 0 or unknown: aws-sdk-go-v2's signer
// only signs a positive length, and the verifier reproduces what it signs.
var errUnreproducibleLength = errors.New("a signed content-length of 0 or an unknown length cannot be reproduced with the SDK signer")

// ignoredHeaderKeys are the header keys aws-sdk-go-v2's signer leaves out
// of the signature, matched exactly as it matches them (canonical case).
var ignoredHeaderKeys = [...]string{"Authorization", "User-Agent", "X-Amzn-Trace-Id", "Expect", "Transfer-Encoding"}

// scratch holds the buffers one verification reuses; scratchPool keeps them
// between requests so that a verification allocates nothing for them.
type scratch struct {
	buf     []byte      // canonical request, then string to sign
	enc     []byte      // signed headers, then the encoded query names and values
	tmp     []byte      // one unescaped query component
	params  []param     // the query, as offsets into enc
	headers []signedHdr // the canonical headers, before sorting
}

// param is one encoded query name=value pair: enc[k0:k1] = enc[k1:v1].
type param struct{ k0, k1, v1 int }

// signedHdr is one canonical header: its lower-case name and values.
type signedHdr struct {
	name   string
	key    string   // the key it was looked up by, to drop exact duplicates
	values []string // nil for host, content-length and the header X-Amz-Date
	fixed  string   // the host or X-Amz-Date
	kind   hdrKind
}

type hdrKind uint8

const (
	hdrValues hdrKind = iota // values, trimmed and with inner spaces collapsed
	hdrHost                  // the host, with inner spaces collapsed only
	hdrFixed                 // fixed, written as is
	hdrLength                // the request's ContentLength
)

// maxPooledScratch keeps one huge request from pinning its buffers.
const maxPooledScratch = 64 << 10

var scratchPool = sync.Pool{New: func() any {
	return &scratch{buf: make([]byte, 0, 1024), enc: make([]byte, 0, 256), headers: make([]signedHdr, 0, 8)}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.buf) > maxPooledScratch || cap(s.enc) > maxPooledScratch || cap(s.tmp) > maxPooledScratch {
		return
	}
	clear(s.headers) // drop references to the request's header values
	s.buf, s.enc, s.tmp, s.params, s.headers = s.buf[:0], s.enc[:0], s.tmp[:0], s.params[:0], s.headers[:0]
	scratchPool.Put(s)
}

// checkSignature rebuilds the canonical request exactly as aws-sdk-go-v2's
// signer builds it for the request the client signed — method, the path as
// escaped on the wire (escaped once more except for S3), the query sorted
// after encoding, exactly the signed headers, the payload hash — signs it
// with the derived key and compares with the client's signature in constant
// time. The SignedHeaders the client sent must also be the list the signer
// would write (sorted, lower case, no duplicates).
func (v *Verifier) checkSignature(in signInput) signCheck {
	s := getScratch()
	defer putScratch(s)

	host := signingHost(in.r)
	if err := s.collectHeaders(in, host); err != nil {
		return signCheck{err: err}
	}
	// The signed-headers list goes first into enc: a presigned query signs it.
	for i, h := range s.headers {
		if i > 0 {
			s.enc = append(s.enc, ';')
		}
		s.enc = append(s.enc, h.name...)
	}
	signedEnd := len(s.enc)

	b := append(s.buf, in.r.Method...)
	b = append(b, '\n')
	b = appendCanonicalPath(b, wirePath(in.r), in.scope.Service != "s3")
	b = append(b, '\n')
	b = s.appendCanonicalQuery(b, in, signedEnd)
	b = append(b, '\n')
	for _, h := range s.headers {
		b = append(b, h.name...)
		b = append(b, ':')
		switch h.kind {
		case hdrHost:
			b = appendCollapsed(b, trimSpaces(h.fixed))
		case hdrFixed:
			b = append(b, h.fixed...)
		case hdrLength:
			b = strconv.AppendInt(b, in.r.ContentLength, 10)
		default:
			for j, val := range h.values {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendCollapsed(b, strings.TrimSpace(val))
			}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, s.enc[:signedEnd]...)
	b = append(b, '\n')
	b = append(b, in.payloadHash...)
	canonicalEnd := len(b)

	sum := sha256.Sum256(b[:canonicalEnd])
	b = append(b, algorithm+"\n"...)
	b = append(b, in.amzDate...)
	b = append(b, '\n')
	b = appendScope(b, in.scope)
	b = append(b, '\n')
	b = hex.AppendEncode(b, sum[:])
	s.buf = b
	stringToSign := b[canonicalEnd:]

	key := v.keys.signingKey(in.secret, in.scope)
	s.tmp = slices.Grow(s.tmp[:0], sha256.BlockSize+len(stringToSign))
	mac := hmacSHA256(s.tmp, key[:], stringToSign)
	var want, got [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	ok := len(in.signature) == len(got)
	if ok {
		copy(got[:], in.signature)
	}
	ok = hmac.Equal(want[:], got[:]) && ok && string(s.enc[:signedEnd]) == in.signedRaw
	if ok {
		return signCheck{ok: true}
	}
	return signCheck{canonicalRequest: string(b[:canonicalEnd]), stringToSign: string(stringToSign)}
}

// collectHeaders lists the headers the signer signs, sorted by name: host,
// content-length when signed (the request's length), X-Amz-Date in the
// header form (the signing time), then every other signed name with the
// request's values. Names the SDK never signs are skipped as it skips them;
// names differing only in case share one entry, as in the SDK.
func (s *scratch) collectHeaders(in signInput, host string) error {
	s.headers = append(s.headers, signedHdr{name: "host", key: "host", fixed: host, kind: hdrHost})
	if slices.Contains(in.signedHeaders, "content-length") {
		if in.r.ContentLength <= 0 {
			return errUnreproducibleLength
		}
		s.headers = append(s.headers, signedHdr{name: "content-length", key: "content-length", kind: hdrLength})
	}
	if !in.presigned {
		s.headers = append(s.headers, signedHdr{name: "x-amz-date", key: "X-Amz-Date", fixed: in.amzDate, kind: hdrFixed})
	}
names:
	for _, name := range in.signedHeaders {
		switch {
		case name == "host", name == "content-length":
			continue
		case !in.presigned && (name == "x-amz-date" || name == "X-Amz-Date"):
			continue // the signer writes X-Amz-Date itself
		case slices.Contains(ignoredHeaderKeys[:], name), strings.EqualFold(name, "content-length"):
			continue
		}
		values := in.r.Header.Values(name)
		if len(values) == 0 && name == "transfer-encoding" {
			// net/http moves Transfer-Encoding out of the header map.
			values = []string{strings.Join(in.r.TransferEncoding, ",")}
		}
		if len(values) == 0 {
			values = []string{""}
		}
		lower := toLowerASCII(name)
		for i := range s.headers {
			h := &s.headers[i]
			switch {
			case h.key == name:
				continue names // the same key twice is one header
			case h.name == lower:
				if h.kind == hdrValues {
					h.values = append(slices.Clip(h.values), values...)
				}
				continue names
			}
		}
		s.headers = append(s.headers, signedHdr{name: lower, key: name, values: values})
	}
	slices.SortFunc(s.headers, func(a, b signedHdr) int { return strings.Compare(a.name, b.name) })
	return nil
}

// appendCanonicalQuery writes the query as the signer encodes it: each
// name and value URI-encoded (RFC 3986 unreserved characters kept, space as
// %20), the pairs sorted after encoding, by name then value. The query is
// parsed as url.ParseQuery parses it (pairs with ';' or a bad escape are
// dropped). A presigned query leaves X-Amz-Signature out and signs the
// signed-headers list the signer computed, enc[:signedEnd].
func (s *scratch) appendCanonicalQuery(b []byte, in signInput, signedEnd int) []byte {
	raw := in.r.URL.RawQuery
	if in.presigned && in.query != nil || strings.Count(raw, "&") >= 1000 {
		// Large queries go through url.ParseQuery, whose parameter limit
		// (GODEBUG urlmaxqueryparams) then applies as it does for the SDK.
		q := in.query
		if q == nil {
			q, _ = url.ParseQuery(raw)
		}
		for k, vs := range q {
			for _, val := range vs {
				s.addParam(k, val, in.presigned, signedEnd)
			}
		}
	} else {
		for raw != "" {
			var pair string
			pair, raw, _ = strings.Cut(raw, "&")
			if pair == "" || strings.Contains(pair, ";") {
				continue
			}
			k, val, _ := strings.Cut(pair, "=")
			var ok bool
			start := len(s.tmp)
			if s.tmp, ok = appendQueryUnescaped(s.tmp, k); !ok {
				s.tmp = s.tmp[:start]
				continue
			}
			mid := len(s.tmp)
			if s.tmp, ok = appendQueryUnescaped(s.tmp, val); !ok {
				s.tmp = s.tmp[:start]
				continue
			}
			s.addParamBytes(s.tmp[start:mid], s.tmp[mid:], in.presigned, signedEnd)
			s.tmp = s.tmp[:start]
		}
	}
	enc := s.enc
	slices.SortFunc(s.params, func(x, y param) int {
		if c := bytes.Compare(enc[x.k0:x.k1], enc[y.k0:y.k1]); c != 0 {
			return c
		}
		return bytes.Compare(enc[x.k1:x.v1], enc[y.k1:y.v1])
	})
	for i, p := range s.params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, enc[p.k0:p.k1]...)
		b = append(b, '=')
		b = append(b, enc[p.k1:p.v1]...)
	}
	return b
}

func (s *scratch) addParam(k, val string, presigned bool, signedEnd int) {
	if presigned && k == querySignature {
		return
	}
	k0 := len(s.enc)
	s.enc = appendQueryEscaped(s.enc, k)
	k1 := len(s.enc)
	if presigned && k == querySignedHeaders {
		// The old backing array stays valid if this append moves enc.
		s.enc = appendQueryEscaped(s.enc, s.enc[:signedEnd])
	} else {
		s.enc = appendQueryEscaped(s.enc, val)
	}
	s.params = append(s.params, param{k0, k1, len(s.enc)})
}

func (s *scratch) addParamBytes(k, val []byte, presigned bool, signedEnd int) {
	if presigned && string(k) == querySignature {
		return
	}
	k0 := len(s.enc)
	s.enc = appendQueryEscaped(s.enc, k)
	k1 := len(s.enc)
	if presigned && string(k) == querySignedHeaders {
		val = s.enc[:signedEnd]
	}
	s.enc = appendQueryEscaped(s.enc, val)
	s.params = append(s.params, param{k0, k1, len(s.enc)})
}

// appendCanonicalPath writes the path as the signer does: from the first
// '/' of the escaped wire path ("/" when there is none), escaped once more
// (every byte but unreserved characters and '/') unless S3.
func appendCanonicalPath(b []byte, p string, escape bool) []byte {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i:]
	} else {
		p = ""
	}
	if p == "" {
		p = "/"
	}
	if !escape {
		return append(b, p...)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '/' || unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// appendScope writes yyyymmdd/region/service/aws4_request.
func appendScope(b []byte, sc Scope) []byte {
	b = append(b, sc.Date...)
	b = append(b, '/')
	b = append(b, sc.Region...)
	b = append(b, '/')
	b = append(b, sc.Service...)
	return append(b, "/"+scopeTerminator...)
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// appendQueryEscaped URI-encodes one query name or value as SigV4 wants:
// unreserved characters kept, every other byte %XX (upper case).
func appendQueryEscaped[T string | []byte](b []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// appendQueryUnescaped decodes one query component as url.QueryUnescape
// does ('+' is a space; '%' must start two hex digits) and reports false
// where it would fail.
func appendQueryUnescaped(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return b, false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// trimSpaces trims ASCII spaces (only) from both ends.
func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// appendCollapsed writes s with each run of spaces collapsed to one.
func appendCollapsed(b []byte, s string) []byte {
	for {
		i := strings.Index(s, "  ")
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i+1]...)
		s = strings.TrimLeft(s[i:], " ")
	}
}

// toLowerASCII is strings.ToLower without an allocation for names that are
// already lower case.
func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// signingHost is the host the client signed. The SDK strips a default port
// (":80" for http, ":443" for https) before signing, and the client already
// did that before sending, so the Host received is what was signed: the
// scheme is taken as the one for which the received port is not the default,
// and the SDK's stripping rule then leaves the host as it is.
func signingHost(r *http.Request) string {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	scheme := "http"
	if hostPort(host) == "80" {
		scheme = "https"
	}
	if p := sdkPortOf(host); p != "" && (scheme == "http" && p == "80" || scheme == "https" && p == "443") {
		return sdkStripPort(host)
	}
	return host
}

// wirePath is the request path exactly as escaped by the client.
func wirePath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		// Not a server request, or absolute-form / "*": use the parsed URL.
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// hostPort returns the port of a host[:port] or [v6]:port, or "".
func hostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.Contains(host[i:], "]") {
		return ""
	}
	return host[i+1:]
}

// sdkPortOf is the port as the SDK reads it: after "]:" when present, ""
// for a bracketed host without one, else after the first ':'.
func sdkPortOf(host string) string {
	colon := strings.IndexByte(host, ':')
	switch {
	case colon < 0:
		return ""
	case strings.Contains(host, "]:"):
		return host[strings.Index(host, "]:")+2:]
	case strings.Contains(host, "]"):
		return ""
	}
	return host[colon+1:]
}

// sdkStripPort is the host without its port, as the SDK strips it.
func sdkStripPort(host string) string {
	colon := strings.IndexByte(host, ':')
	if colon < 0 {
		return host
	}
	if i := strings.IndexByte(host, ']'); i >= 0 {
		return strings.TrimPrefix(host[:i], "[")
	}
	return host[:colon]
}
