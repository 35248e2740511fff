package containers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// idpKeyPath is where the IdP container reads its signing key (`mcpsso idp serve --signing-key`).
const idpKeyPath = "/etc/mcpsso/idp-signing-key.pem"

// newIdPKey makes the IdP container's signing key, and the IdP in this process that Forge signs
// with: the same key, issuer, users, audience and tenant claim (the defaults of `mcpsso idp
// serve`, as the container runs it), so what it signs is what the container would. It returns
// the key as the container reads it (PEM, PKCS #8).
func (t *Topology) newIdPKey() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("containers: the IdP's signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("containers: the IdP's signing key: %w", err)
	}
	if t.forger, err = mockidp.New(mockidp.WithIssuerURL(t.issuerURL), mockidp.WithSigningKey(key)); err != nil {
		return nil, fmt.Errorf("containers: the IdP that forges: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Forge mints the forged token f for user (username, email or subject) as the IdP container
// signs tokens: those that carry a valid signature (expired, wrong audience, a tenant claim the
// deployment must refuse, …) verify with the container's JWKS.
func (t *Topology) Forge(ctx context.Context, f mockidp.Forgery, user string) (string, error) {
	return t.forger.Forge(ctx, f, user)
}
