package adversarial

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
)

// tokenAttack makes a forged token from a valid one, changing one thing. a is the attacker
// (its key, and its server, which counts the requests a verifier makes to URLs the token names);
// jwk and pub are the deployment's published verification key.
type tokenAttack struct {
	name string
	make func(v validToken, a *attacker, jwk json.RawMessage, pub crypto.PublicKey) (string, error)
}

// algConfusion: HS256 keyed with the IdP's public key, the key in four encodings a library may
// pass to HMAC as its "secret".
var algConfusion = func() []tokenAttack {
	var out []tokenAttack
	for _, enc := range []string{encPEM, encPKCS, encDER, encJWK} {
		out = append(out, tokenAttack{name: enc, make: func(v validToken, _ *attacker, jwk json.RawMessage, pub crypto.PublicKey) (string, error) {
			key, err := keyEncoding(enc, jwk, pub)
			if err != nil {
				return "", err
			}
			return v.hmacToken(v.headerWith(map[string]any{"alg": "HS256"}), key), nil
		}})
	}
	return out
}()

// kidInjection: a kid a verifier could read as a path, SQL, a command or a URL, signed with
// what that reading would give it.
var kidInjection = []tokenAttack{
	{"a path to /dev/null, HMAC-signed with the empty key such a file reads as", func(v validToken, _ *attacker, _ json.RawMessage, _ crypto.PublicKey) (string, error) {
		return v.hmacToken(v.headerWith(map[string]any{"alg": "HS256", "kid": "../../../../../../../../dev/null"}), nil), nil
	}},
	{"SQL that selects a known secret, HMAC-signed with it", func(v validToken, _ *attacker, _ json.RawMessage, _ crypto.PublicKey) (string, error) {
		return v.hmacToken(v.headerWith(map[string]any{"alg": "HS256", "kid": "x' UNION SELECT 'mcpsso-injected' -- "}), []byte("mcpsso-injected")), nil
	}},
	{"a shell command, HMAC-signed with the empty key", func(v validToken, _ *attacker, _ json.RawMessage, _ crypto.PublicKey) (string, error) {
		return v.hmacToken(v.headerWith(map[string]any{"alg": "HS256", "kid": "$(id);`id`|id"}), nil), nil
	}},
	{"the URL of the attacker's JWKS, signed with the attacker's key", func(v validToken, a *attacker, _ json.RawMessage, _ crypto.PublicKey) (string, error) {
		return v.rsaToken(v.headerWith(map[string]any{"alg": "RS256", "kid": a.srv.URL + "/jwks.json"}), a.key), nil
	}},
}

// namedKeys: RS256 with the attacker's key, which the token's header names or carries.
var namedKeys = []tokenAttack{
	{"jku (a JWKS URL)", signedNaming(func(a *attacker) map[string]any { return map[string]any{"jku": a.srv.URL + "/jwks.json"} })},
	{"x5u (a certificate URL)", signedNaming(func(a *attacker) map[string]any { return map[string]any{"x5u": a.srv.URL + "/cert.pem"} })},
	{"jwk (the key itself)", signedNaming(func(a *attacker) map[string]any { return map[string]any{"jwk": a.jwk()} })},
	{"x5c (a certificate chain)", signedNaming(func(a *attacker) map[string]any {
		return map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(a.certDER)}}
	})},
}

func signedNaming(header func(a *attacker) map[string]any) func(validToken, *attacker, json.RawMessage, crypto.PublicKey) (string, error) {
	return func(v validToken, a *attacker, _ json.RawMessage, _ crypto.PublicKey) (string, error) {
		changes := header(a)
		changes["alg"], changes["kid"] = "RS256", "attacker"
		return v.rsaToken(v.headerWith(changes), a.key), nil
	}
}
