package stack

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// resigner stands for a verifier that reads a token's claims without checking its signature
// (WithoutSignatureVerification): it signs every bearer token's header and claims again with
// the IdP's own key before the reference authorizer sees it, so the authorizer checks the
// claims (issuer, audience, expiry, type, subject, tenant) and in effect never the signature.
type resigner struct {
	key *rsa.PrivateKey
	kid string // the IdP's kid for key
}

func newResigner() (*resigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("stack: the IdP's key for WithoutSignatureVerification: %w", err)
	}
	return &resigner{key: key}, nil
}

// authorization re-signs the token of one Authorization header value; a value that is not
// "Bearer" and a token whose header and payload are JSON objects is left as it is.
func (r *resigner) authorization(value string) string {
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return value
	}
	parts := strings.Split(token, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return value
	}
	b64 := base64.RawURLEncoding
	var header, claims map[string]any
	h, herr := b64.DecodeString(parts[0])
	c, cerr := b64.DecodeString(parts[1])
	if herr != nil || cerr != nil || json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil || header == nil || claims == nil {
		return value
	}
	header["alg"], header["kid"] = "RS256", r.kid
	h, _ = json.Marshal(header)
	in := b64.EncodeToString(h) + "." + parts[1]
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, r.key, crypto.SHA256, sum[:]) // a valid RSA key cannot fail
	return scheme + " " + in + "." + b64.EncodeToString(sig)
}

// headers re-signs the Authorization values of an authorizer event's headers, whatever their
// case, in copies of the maps.
func (r *resigner) headers(single map[string]string, multi map[string][]string) (map[string]string, map[string][]string) {
	outSingle := make(map[string]string, len(single))
	for k, v := range single {
		if strings.EqualFold(k, "Authorization") {
			v = r.authorization(v)
		}
		outSingle[k] = v
	}
	outMulti := make(map[string][]string, len(multi))
	for k, vs := range multi {
		if strings.EqualFold(k, "Authorization") {
			resigned := make([]string, len(vs))
			for i, v := range vs {
				resigned[i] = r.authorization(v)
			}
			vs = resigned
		}
		outMulti[k] = vs
	}
	return outSingle, outMulti
}

// rest and httpAPI re-sign an authorizer event's tokens (nil r: the event as it is).
func (r *resigner) rest(ev events.APIGatewayCustomAuthorizerRequestTypeRequest) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	if r != nil {
		ev.Headers, ev.MultiValueHeaders = r.headers(ev.Headers, ev.MultiValueHeaders)
	}
	return ev
}

func (r *resigner) httpAPI(ev events.APIGatewayV2CustomAuthorizerV2Request) events.APIGatewayV2CustomAuthorizerV2Request {
	if r != nil {
		ev.Headers, _ = r.headers(ev.Headers, nil)
	}
	return ev
}
