package mockidp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// The IdP signs with the standard library alone: compact JWS is three base64url segments, and
// owning the encoder lets the forging API write headers no JWT library would (alg "none", an
// HMAC keyed with the public key, a kid that names another key).

// Signing algorithms the IdP publishes keys for.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// JWT "typ" header values: RFC 9068 names access tokens at+jwt; ID and refresh tokens keep JWT
// (they are also told apart by the token_use claim).
const (
	typAccessToken = "at+jwt"
	typJWT         = "JWT"
)

var b64 = base64.RawURLEncoding

// jwsHeader is a JOSE header in the order people expect to read it.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
	X5t string `json:"x5t,omitempty"` // Entra's v1 tokens repeat the kid here
}

// jwk is one public key of a JWK Set (RFC 7517), RSA or P-256.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	X5t string `json:"x5t,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	// Issuer is Entra's issuer member on each key.
	Issuer string `json:"issuer,omitempty"`
}

// publicJWK describes pub as a JWK without kid, use or alg.
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return jwk{}, fmt.Errorf("EC key on curve %s: only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		point, err := k.Bytes() // uncompressed: 0x04 || X || Y
		if err != nil {
			return jwk{}, err
		}
		return jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(point[1:33]), Y: b64.EncodeToString(point[33:])}, nil
	default:
		return jwk{}, fmt.Errorf("key type %T: want *rsa.PublicKey or *ecdsa.PublicKey", pub)
	}
}

// canonicalJWK is RFC 7638's canonical form of pub, what its thumbprints hash.
func canonicalJWK(pub crypto.PublicKey) ([]byte, error) {
	k, err := publicJWK(pub)
	if err != nil {
		return nil, err
	}
	if k.Kty == "RSA" {
		return fmt.Appendf(nil, `{"e":%q,"kty":"RSA","n":%q}`, k.E, k.N), nil
	}
	return fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, k.X, k.Y), nil
}

// kidFunc names keys in a provider's form. Every form is a hash of the public key (the
// default, the RFC 7638 thumbprint itself), so a kid is stable for a key and differs between
// keys.
func kidFunc(form KeyIDForm) func(crypto.PublicKey) (string, error) {
	return func(pub crypto.PublicKey) (string, error) {
		canonical, err := canonicalJWK(pub)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(canonical)
		sum1 := sha1.Sum(canonical)
		switch form {
		case KidBase64Padded:
			return base64.StdEncoding.EncodeToString(sum[:]), nil
		case KidSHA1Thumbprint:
			return b64.EncodeToString(sum1[:]), nil
		case KidHex40:
			return hex.EncodeToString(sum1[:]), nil
		case KidShortAlphanumeric:
			var out []byte
			for _, c := range []byte(base64.StdEncoding.EncodeToString(sum[:])) {
				if len(out) < 21 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
					out = append(out, c)
				}
			}
			return string(out), nil
		default:
			return b64.EncodeToString(sum[:]), nil
		}
	}
}

// algFor names the JWS algorithm a private key signs with.
func algFor(key crypto.Signer) (string, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits: RS256 keys must have at least 2048 bits", k.N.BitLen())
		}
		return RS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("EC key on curve %s: ES256 needs P-256", k.Curve.Params().Name)
		}
		return ES256, nil
	default:
		return "", fmt.Errorf("key type %T: want an RSA (RS256) or P-256 (ES256) private key", k)
	}
}

// generateKey makes a fresh private key for alg.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("signing algorithm %q: must be %s or %s", alg, RS256, ES256)
	}
}

// signJWS returns the compact serialisation of payload signed by key under header.
func signJWS(h jwsHeader, payload []byte, key crypto.Signer) (string, error) {
	signingInput, err := encodeSigningInput(h, payload)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(signingInput))
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	default:
		err = fmt.Errorf("key type %T cannot sign", key)
	}
	if err != nil {
		return "", err
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// signHS256 signs with HMAC-SHA256 under secret: only the forging API uses it, with the
// public key as the secret (the classic algorithm-confusion attack).
func signHS256(h jwsHeader, payload, secret []byte) (string, error) {
	signingInput, err := encodeSigningInput(h, payload)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signingInput))
	return signingInput + "." + b64.EncodeToString(mac.Sum(nil)), nil
}

func encodeSigningInput(h jwsHeader, payload []byte) (string, error) {
	header, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(header) + "." + b64.EncodeToString(payload), nil
}

// publicKeyPEM is the PEM form of pub, what an HS256-confusion attacker uses as the secret.
func publicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// parsedJWS is a compact JWS split into its parts, not yet verified.
type parsedJWS struct {
	header       jwsHeader
	payload      []byte
	signingInput string
	signature    []byte
}

// maxTokenBytes bounds what the IdP parses (refresh tokens, bearer tokens at userinfo).
const maxTokenBytes = 16 << 10

func parseJWS(token string) (parsedJWS, error) {
	if len(token) > maxTokenBytes {
		return parsedJWS{}, fmt.Errorf("token of %d bytes exceeds the %d-byte limit", len(token), maxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return parsedJWS{}, errors.New("token is not a compact JWS (want three dot-separated parts)")
	}
	var p parsedJWS
	header, err := b64.DecodeString(parts[0])
	if err != nil {
		return parsedJWS{}, fmt.Errorf("token header is not base64url: %v", err)
	}
	if err := json.Unmarshal(header, &p.header); err != nil {
		return parsedJWS{}, fmt.Errorf("token header is not JSON: %v", err)
	}
	if p.payload, err = b64.DecodeString(parts[1]); err != nil {
		return parsedJWS{}, fmt.Errorf("token payload is not base64url: %v", err)
	}
	if p.signature, err = b64.DecodeString(parts[2]); err != nil {
		return parsedJWS{}, fmt.Errorf("token signature is not base64url: %v", err)
	}
	p.signingInput = parts[0] + "." + parts[1]
	return p, nil
}

// verifySignature checks p's signature with pub under alg (which the caller has matched to
// the key, never taken from the token alone).
func (p parsedJWS) verifySignature(alg string, pub crypto.PublicKey) error {
	if p.header.Alg != alg {
		return fmt.Errorf("token alg %q does not match the key's %s", p.header.Alg, alg)
	}
	digest := sha256.Sum256([]byte(p.signingInput))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], p.signature); err != nil {
			return errors.New("token signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if len(p.signature) != 64 {
			return errors.New("token signature does not verify")
		}
		r, s := new(big.Int).SetBytes(p.signature[:32]), new(big.Int).SetBytes(p.signature[32:])
		if !ecdsa.Verify(k, digest[:], r, s) {
			return errors.New("token signature does not verify")
		}
		return nil
	default:
		return fmt.Errorf("key type %T cannot verify", pub)
	}
}
