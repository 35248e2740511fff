package adversarial

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
)

var b64 = base64.RawURLEncoding

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}

// mappedUser is the first test user the deployment must serve.
func mappedUser() fw.User {
	GinkgoHelper()
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" {
			return u
		}
	}
	Skip("target " + fw.Current().Name() + " has no user mapped to a tenant")
	return fw.User{}
}

// validToken is a real access token of the mapped user, split into its header and claims: the
// attacks keep the claims, so that only the signature's trust can refuse them.
type validToken struct {
	raw    string
	header map[string]any
	claims json.RawMessage
}

func tokenOf(ctx context.Context) validToken {
	GinkgoHelper()
	raw, err := fw.Current().Token(ctx, mappedUser().Name)
	Expect(err).NotTo(HaveOccurred())
	v, err := parseToken(raw)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// parseToken splits a JWS compact token into its header and claims.
func parseToken(raw string) (validToken, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return validToken{}, fmt.Errorf("the target's tokens are not JWS compact JWTs (%d parts)", len(parts))
	}
	v := validToken{raw: raw}
	h, err := b64.DecodeString(parts[0])
	if err != nil {
		return validToken{}, fmt.Errorf("the token's header: %w", err)
	}
	if err := json.Unmarshal(h, &v.header); err != nil {
		return validToken{}, fmt.Errorf("the token's header: %w", err)
	}
	if v.claims, err = b64.DecodeString(parts[1]); err != nil {
		return validToken{}, fmt.Errorf("the token's claims: %w", err)
	}
	return v, nil
}

// issuer is the token's iss: where the deployment's keys are published.
func (v validToken) issuer() (string, error) {
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(v.claims, &c); err != nil || c.Iss == "" {
		return "", fmt.Errorf("the token has no iss (%v)", err)
	}
	return c.Iss, nil
}

// header is the token's header with changes: a nil value drops a member.
func (v validToken) headerWith(changes map[string]any) []byte {
	h := map[string]any{}
	for k, x := range v.header {
		h[k] = x
	}
	for k, x := range changes {
		if x == nil {
			delete(h, k)
		} else {
			h[k] = x
		}
	}
	b, _ := json.Marshal(h)
	return b
}

// hmacToken signs the token's claims under header with HMAC-SHA256 keyed with key.
func (v validToken) hmacToken(header []byte, key []byte) string {
	in := b64.EncodeToString(header) + "." + b64.EncodeToString(v.claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + b64.EncodeToString(m.Sum(nil))
}

// rsaToken signs the token's claims under header with RS256 and key.
func (v validToken) rsaToken(header []byte, key *rsa.PrivateKey) string {
	in := b64.EncodeToString(header) + "." + b64.EncodeToString(v.claims)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]) // a valid RSA key cannot fail
	return in + "." + b64.EncodeToString(sig)
}

// publishedKey is the deployment's verification key for the token's kid, from the issuer's
// JWKS: the JWK as served and the parsed public key.
func publishedKey(ctx context.Context, v validToken) (json.RawMessage, crypto.PublicKey) {
	GinkgoHelper()
	jwk, pub, err := fetchPublishedKey(ctx, v)
	Expect(err).NotTo(HaveOccurred())
	return jwk, pub
}

func fetchPublishedKey(ctx context.Context, v validToken) (json.RawMessage, crypto.PublicKey, error) {
	iss, err := v.issuer()
	if err != nil {
		return nil, nil, err
	}
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, nil, err
	}
	for _, raw := range set.Keys {
		var k struct {
			Kid, Kty, N, E, Crv, X, Y string
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, nil, fmt.Errorf("a key of %s: %w", disc.JWKSURI, err)
		}
		if k.Kid != v.header["kid"] {
			continue
		}
		switch k.Kty {
		case "RSA":
			return raw, &rsa.PublicKey{N: decodeBig(k.N), E: int(decodeBig(k.E).Int64())}, nil
		case "EC":
			if curve := ecCurve(k.Crv); curve != nil {
				x, _ := b64.DecodeString(k.X)
				y, _ := b64.DecodeString(k.Y)
				pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
				if err != nil {
					return nil, nil, fmt.Errorf("key %s of %s: %w", k.Kid, disc.JWKSURI, err)
				}
				return raw, pub, nil
			}
		}
		return nil, nil, fmt.Errorf("key %s of %s is of type %s %s", k.Kid, disc.JWKSURI, k.Kty, k.Crv)
	}
	return nil, nil, fmt.Errorf("the JWKS at %s has no key %v", disc.JWKSURI, v.header["kid"])
}

func ecCurve(name string) elliptic.Curve {
	switch name {
	case "P-256":
		return elliptic.P256()
	case "P-384":
		return elliptic.P384()
	case "P-521":
		return elliptic.P521()
	}
	return nil
}

// decodeBig reads a JWK number; a malformed one reads as 0, which no key verifies with.
func decodeBig(s string) *big.Int {
	b, _ := b64.DecodeString(s)
	return new(big.Int).SetBytes(b)
}

func getJSON(ctx context.Context, url string, v any) error {
	if url == "" {
		return fmt.Errorf("no URL to fetch (discovery named none)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// The encodings of the verifier's public key an alg-confusion attack tries as the HMAC key:
// the forms in which a library may hand its "secret" to HMAC.
const (
	encPEM  = "PEM (SubjectPublicKeyInfo)"
	encPKCS = "PEM (PKCS #1; for an EC key its SEC 1 point)"
	encDER  = "DER (SubjectPublicKeyInfo)"
	encJWK  = "JWK, as the JWKS serves it"
)

func keyEncoding(enc string, jwk json.RawMessage, pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	switch enc {
	case encPEM:
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	case encDER:
		return der, nil
	case encJWK:
		return jwk, nil
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k)}), nil
	case *ecdsa.PublicKey:
		e, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		return e.Bytes(), nil
	}
	return nil, fmt.Errorf("a public key of type %T", pub)
}

// attacker is a key pair of the attacker's own, with a self-signed certificate, and the
// server that publishes them (a JWKS, the certificate) and counts every request it gets: a
// verifier that follows jku or x5u shows up here.
type attacker struct {
	key     *rsa.PrivateKey
	certDER []byte
	srv     *httptest.Server
	hits    atomic.Int64
}

var (
	attackerMu  sync.Mutex
	theAttacker *attacker
)

// newAttacker is the suite's one attacker (an RSA key takes a while to make).
func newAttacker() *attacker {
	GinkgoHelper()
	attackerMu.Lock()
	defer attackerMu.Unlock()
	if theAttacker == nil {
		a, err := startAttacker()
		Expect(err).NotTo(HaveOccurred())
		theAttacker = a
	}
	return theAttacker
}

func startAttacker() (*attacker, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mcpsso attacker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	a := &attacker{key: key, certDER: der}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		switch r.URL.Path {
		case "/jwks.json":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{a.jwk()}})
		case "/cert.pem":
			_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		default:
			_, _ = io.WriteString(w, "attacker")
		}
	}))
	return a, nil
}

func (a *attacker) jwk() map[string]any {
	return map[string]any{"kty": "RSA", "kid": "attacker", "alg": "RS256", "use": "sig",
		"n": b64.EncodeToString(a.key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(a.key.E)).Bytes())}
}

// reply is an HTTP answer, body read.
type reply struct {
	status int
	body   string
}

// callWhoami POSTs whoami to the MCP URL with each of authorization as an Authorization
// header line (none for an empty list) and body (the whoami call when "").
func callWhoami(ctx context.Context, authorization []string, body string, extra http.Header) reply {
	GinkgoHelper()
	if body == "" {
		body = fw.WhoamiCall
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fw.Current().MCPURL(), strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred(), "POST %s", fw.Current().MCPURL())
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return reply{status: resp.StatusCode, body: string(b)}
}

// expectRefused asserts a 401 or 403 and no tool run.
func expectRefused(r reply, attack string) {
	GinkgoHelper()
	Expect(r.status).To(BeElementOf(http.StatusUnauthorized, http.StatusForbidden), "%s got HTTP %d (body %.300s)", attack, r.status, r.body)
	expectNoToolRun(r, attack)
}

func expectNoToolRun(r reply, attack string) {
	GinkgoHelper()
	Expect(r.body).NotTo(ContainSubstring(`"result"`), "a tool ran for %s", attack)
	Expect(r.body).NotTo(ContainSubstring("sourceIdentity"), "a tool ran for %s", attack)
}

// otherUsersToken is a valid token of a second mapped user.
func otherUsersToken(ctx context.Context) string {
	GinkgoHelper()
	first := mappedUser()
	for _, u := range fw.Current().Users() {
		if u.Tenant != "" && u.Name != first.Name {
			tok, err := fw.Current().Token(ctx, u.Name)
			Expect(err).NotTo(HaveOccurred())
			return tok
		}
	}
	Skip("target " + fw.Current().Name() + " has one mapped user")
	return ""
}

// sizeRequest POSTs body ("": whoami) to url with the Authorization lines and extra headers.
func sizeRequest(ctx context.Context, url string, authorization []string, extra http.Header, body string) reply {
	GinkgoHelper()
	if body == "" {
		body = fw.WhoamiCall
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred(), "POST %.80s…", url)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return reply{status: resp.StatusCode, body: string(b)}
}
