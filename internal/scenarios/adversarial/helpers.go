package adversarial

import (
	"bytes"
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
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
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

// forgerOf is what the keyless forgeries start from on the current target: the mapped user's
// token and tenant, the attacker, and another user to put in the changed claims.
func forgerOf(ctx context.Context) forger {
	GinkgoHelper()
	me := mappedUser()
	v := tokenOf(ctx)
	sub, tenant, err := victim(fw.Current().Users(), me, func(name string) (string, error) {
		raw, err := fw.Current().Token(ctx, name)
		if err != nil {
			return "", err
		}
		other, err := parseToken(raw)
		if err != nil {
			return "", err
		}
		return other.subject()
	})
	Expect(err).NotTo(HaveOccurred())
	return forger{v: v, a: newAttacker(), tenant: me.Tenant, victimSub: sub, victimTenant: tenant}
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

// subject is the token's sub.
func (v validToken) subject() (string, error) {
	var c struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(v.claims, &c); err != nil || c.Sub == "" {
		return "", fmt.Errorf("the token has no sub (%v)", err)
	}
	return c.Sub, nil
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
	return signRS256(header, v.claims, key)
}

// signRS256 is the JWS compact serialization of claims under header, signed with RS256 and key.
func signRS256(header, claims []byte, key *rsa.PrivateKey) string {
	in := b64.EncodeToString(header) + "." + b64.EncodeToString(claims)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]) // a valid RSA key cannot fail
	return in + "." + b64.EncodeToString(sig)
}

// claimsWith is the token's claims with changes, the others as they were written.
func (v validToken) claimsWith(changes map[string]any) ([]byte, error) {
	c, err := v.claimMap()
	if err != nil {
		return nil, err
	}
	maps.Copy(c, changes)
	return json.Marshal(c)
}

// claimMap is the token's claims decoded, numbers as json.Number so that they re-encode as
// they were.
func (v validToken) claimMap() (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(v.claims))
	d.UseNumber()
	var c map[string]any
	if err := d.Decode(&c); err != nil || c == nil {
		return nil, fmt.Errorf("the token's claims are not a JSON object: %v", err)
	}
	return c, nil
}

// publishedKey is the deployment's verification key for the token's kid, from the JWKS its
// authorization server publishes: the JWK as served and the parsed public key.
func publishedKey(ctx context.Context, v validToken) (json.RawMessage, crypto.PublicKey) {
	GinkgoHelper()
	jwk, pub, err := fetchPublishedKey(ctx, fw.Current().MCPURL(), v)
	Expect(err).NotTo(HaveOccurred())
	return jwk, pub
}

// fetchPublishedKey finds the key as an MCP client finds the authorization server of mcpURL:
// the protected resource metadata names the authorization servers (RFC 9728), of which the
// token's issuer is taken when listed, else the first; that server's metadata (RFC 8414, or
// OpenID discovery) names its jwks_uri. A deployment that serves no protected resource
// metadata (the seed profile) is taken at its token's word: the issuer is the token's iss.
func fetchPublishedKey(ctx context.Context, mcpURL string, v validToken) (json.RawMessage, crypto.PublicKey, error) {
	issuer, err := authorizationServer(ctx, mcpURL, v)
	if err != nil {
		return nil, nil, err
	}
	metadataURLs, err := fw.AuthorizationServerMetadataURLs(issuer)
	if err != nil {
		return nil, nil, err
	}
	meta, from, err := fw.FetchJSON(ctx, metadataURLs)
	if err != nil {
		return nil, nil, fmt.Errorf("the metadata of authorization server %s: %w", issuer, err)
	}
	jwksURI, _ := meta["jwks_uri"].(string)
	if jwksURI == "" {
		return nil, nil, fmt.Errorf("the authorization server metadata at %s names no jwks_uri", from)
	}
	// The keys as served, byte for byte: one attack uses a key's JWK as its HMAC secret.
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, jwksURI, &set); err != nil {
		return nil, nil, err
	}
	kid, hasKid := v.header["kid"]
	for _, raw := range set.Keys {
		var k struct {
			Kid, Kty, N, E, Crv, X, Y string
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, nil, fmt.Errorf("a key of %s: %w", jwksURI, err)
		}
		// A token without a kid is verified with the one key, when there is one.
		if (hasKid && k.Kid != kid) || (!hasKid && len(set.Keys) != 1) {
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
					return nil, nil, fmt.Errorf("key %s of %s: %w", k.Kid, jwksURI, err)
				}
				return raw, pub, nil
			}
		}
		return nil, nil, fmt.Errorf("key %s of %s is of type %s %s", k.Kid, jwksURI, k.Kty, k.Crv)
	}
	return nil, nil, fmt.Errorf("the JWKS at %s has no key %v (of %d)", jwksURI, kid, len(set.Keys))
}

// authorizationServer is the issuer whose keys verify the token: the one the protected
// resource metadata of mcpURL lists that is the token's iss, else the first it lists; the
// token's iss when no metadata is served.
func authorizationServer(ctx context.Context, mcpURL string, v validToken) (string, error) {
	iss, _ := v.issuer()
	prmURLs, err := fw.ProtectedResourceMetadataURLs(mcpURL)
	if err != nil {
		return "", err
	}
	prm, from, err := fw.FetchJSON(ctx, prmURLs)
	var servers []string
	if list, ok := prm["authorization_servers"].([]any); ok {
		for _, x := range list {
			if s, ok := x.(string); ok && s != "" {
				servers = append(servers, s)
			}
		}
	}
	switch {
	case err != nil && iss == "":
		return "", fmt.Errorf("no protected resource metadata (%v), and the token names no issuer", err)
	case err != nil:
		return iss, nil
	case slices.Contains(servers, iss):
		return iss, nil
	case len(servers) > 0:
		return servers[0], nil
	case iss != "":
		return iss, nil
	}
	return "", fmt.Errorf("the protected resource metadata at %s lists no authorization server, and the token names no issuer", from)
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
	req.Header.Set("Accept", "application/json")
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
// server that publishes them and counts every request it gets: a verifier that follows jku or
// x5u, or fetches the keys of whatever issuer a token names, shows up here. The server is an
// OpenID provider of its own as far as verifiers can tell (discovery naming itself as issuer,
// and a JWKS), so a token it "issues" is valid for it: signed by its key, iss its URL.
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
		case "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": a.srv.URL, "jwks_uri": a.srv.URL + "/jwks.json",
				"authorization_endpoint": a.srv.URL + "/authorize", "token_endpoint": a.srv.URL + "/token",
				"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
				"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"}})
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
	header http.Header
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
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// expectRefused asserts a 401 or 403 and no tool run.
func expectRefused(r reply, attack string) {
	GinkgoHelper()
	Expect(r.status).To(BeElementOf(http.StatusUnauthorized, http.StatusForbidden), "%s got HTTP %d (body %.300s)", attack, r.status, r.body)
	expectNoToolRun(r, attack)
}

// expectInvalidToken asserts what a correct deployment answers a bad token with: no tool run,
// and 401 with a Bearer challenge that says invalid_token (RFC 6750 §3.1) and names the
// protected resource metadata (RFC 9728 §5.1, MCP authorization), so that a client knows to
// sign in again and where.
func expectInvalidToken(r reply, attack string) {
	GinkgoHelper()
	expectNoToolRun(r, attack)
	Expect(r.status).To(Equal(http.StatusUnauthorized), "%s got HTTP %d (body %.300s)", attack, r.status, r.body)
	header := r.header.Get("WWW-Authenticate")
	Expect(header).NotTo(BeEmpty(), "%s got a 401 without WWW-Authenticate: an MCP client has nothing to bootstrap from", attack)
	ch, err := fw.ParseChallenge(header)
	Expect(err).NotTo(HaveOccurred(), "%s: WWW-Authenticate: %s", attack, header)
	Expect(strings.EqualFold(ch.Scheme, "Bearer")).To(BeTrue(), "%s: the challenge's scheme in WWW-Authenticate: %s", attack, header)
	u, err := url.Parse(ch.Params["resource_metadata"])
	Expect(err == nil && u.IsAbs()).To(BeTrue(), "%s: the challenge names no absolute resource_metadata URL: %s", attack, header)
	Expect(ch.Params).To(HaveKeyWithValue("error", "invalid_token"), "%s: WWW-Authenticate: %s", attack, header)
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
