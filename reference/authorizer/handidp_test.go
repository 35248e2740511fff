package authorizer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// encryptionKey stands for the use:enc keys Keycloak publishes beside its signing keys: the
// authorizer must pick the signing key by kid and use.
var encryptionKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// handIdP signs tokens built by hand, in the shape each IdP documents, with the test key, and
// serves that key as a JWKS on loopback. The issuer in a token is whatever the test writes:
// the authorizer is given the JWKS URL, so it never asks the issuer anything.
type handIdP struct {
	clock *fakeClock
	jwks  *httptest.Server
}

const handKID = "tMQzailSAdaW4nojXxES9"

func newHandIdP(t testing.TB) *handIdP {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &encryptionKey().PublicKey, KeyID: "enc-" + handKID, Algorithm: "RSA-OAEP", Use: "enc"},
		{Key: &signingKey().PublicKey, KeyID: handKID, Algorithm: "RS256", Use: "sig"},
	}}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return &handIdP{clock: newFakeClock(), jwks: srv}
}

// sign makes a compact JWS of claims with the typ header given ("" sends none, as Cognito and
// Okta do).
func (h *handIdP) sign(t testing.TB, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: signingKey(), KeyID: handKID}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// times are the iat and exp of a fresh token, an hour long, on the IdP's clock.
func (h *handIdP) times() (iat, exp int64) {
	now := h.clock.Now()
	return now.Unix(), now.Add(time.Hour).Unix()
}

// authorizer builds an authorizer on this IdP's JWKS and the role store given; opts come last.
func (h *handIdP) authorizer(t testing.TB, store authorizer.RoleStore, opts ...authorizer.Option) (*authorizer.Authorizer, error) {
	t.Helper()
	base := []authorizer.Option{
		authorizer.WithJWKSURL(h.jwks.URL + "/jwks.json"),
		authorizer.WithClock(h.clock.Now),
		authorizer.WithRoleStore(store),
		authorizer.WithoutTokenCache(),
		authorizer.WithLogger(slog.New(slog.DiscardHandler)),
	}
	return authorizer.New(context.Background(), append(base, opts...)...)
}
