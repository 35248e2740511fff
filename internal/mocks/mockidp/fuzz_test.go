package mockidp

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The parsers that face the network: client credentials (HTTP Basic and form), the whole
// token endpoint, and the registration body.

func FuzzClientCredentials(f *testing.F) {
	f.Add("", "client_id=mcpsso-cli", "mcpsso-cli", "")
	f.Add("Basic bWNwc3NvLWRlbW86bWNwc3NvLWRlbW8tc2VjcmV0", "", "mcpsso-demo", "mcpsso-demo-secret")
	f.Add("basic "+base64.StdEncoding.EncodeToString([]byte("a%3Ab:c%25")), "client_id=a:b", "a:b", "c%")
	f.Add("Bearer x", "client_id=x&client_secret=y&client_secret=z", "id with space", "sécret")
	f.Fuzz(func(t *testing.T, authorization, body, id, secret string) {
		if form, err := url.ParseQuery(body); err == nil {
			cred, err := parseClientCredentials(authorization, form)
			if err == nil {
				if cred.ID == "" || len(cred.ID) > 256 || len(cred.Secret) > 1024 {
					t.Fatalf("accepted credentials out of bounds: %+v", cred)
				}
				switch cred.Method {
				case "client_secret_basic":
					if authorization == "" {
						t.Fatal("basic credentials without an Authorization header")
					}
				case "client_secret_post", "none":
					if authorization != "" {
						t.Fatal("form credentials accepted beside an Authorization header")
					}
					if cred.Method == "none" && cred.Secret != "" {
						t.Fatal("a secret with method none")
					}
				default:
					t.Fatalf("unknown method %q", cred.Method)
				}
			}
		}
		// What x/oauth2 sends in the header must come back unchanged.
		header := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		cred, err := parseClientCredentials(header, url.Values{})
		valid := id != "" && len(id) <= 256 && len(secret) <= 1024 && !hasControl(id) && !hasControl(secret)
		if valid && (err != nil || cred.ID != id || cred.Secret != secret) {
			t.Fatalf("round trip of %q:%q gave %+v, %v", id, secret, cred, err)
		}
		if !valid && err == nil {
			t.Fatalf("accepted invalid credentials %q:%q", id, secret)
		}
	})
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

func fuzzIdP(f *testing.F) *IdP {
	p, err := New(WithIssuerURL("http://idp.test"), WithSigningAlgorithm(ES256))
	if err != nil {
		f.Fatal(err)
	}
	return p
}

func FuzzTokenEndpoint(f *testing.F) {
	p := fuzzIdP(f)
	f.Add("grant_type=authorization_code&code=x&client_id=mcpsso-cli&code_verifier=abc", "")
	f.Add("grant_type=refresh_token&refresh_token=a.b.c", "Basic bWNwc3NvLWRlbW86bWNwc3NvLWRlbW8tc2VjcmV0")
	f.Add("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=zz&client_id=mcpsso-cli", "")
	f.Add("grant_type=refresh_token&refresh_token=eyJhbGciOiJFUzI1NiJ9.e30.AAAA&client_id=mcpsso-cli&resource=a&resource=b", "")
	f.Fuzz(func(t *testing.T, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "http://idp.test/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
			t.Fatalf("a fuzzed request got tokens: %v", answer)
		case http.StatusBadRequest, http.StatusUnauthorized:
			if answer["error"] == "" || answer["error"] == "server_error" {
				t.Fatalf("%d without a proper error code: %v", rec.Code, answer)
			}
		default:
			t.Fatalf("unexpected status %d: %v", rec.Code, answer)
		}
	})
}

func FuzzRegistration(f *testing.F) {
	p := fuzzIdP(f)
	p.cfg.maxClients = 1 << 30 // the fuzzer registers far more clients than the default limit
	f.Add([]byte(`{"redirect_uris":["http://127.0.0.1:3000/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`))
	f.Add([]byte(`{"redirect_uris":["https://app.example/cb","cursor://anysphere/cb"],"client_name":"x","scope":"openid email"}`))
	f.Add([]byte(`{"redirect_uris":["http://[::1]/cb"],"jwks":{"keys":[]},"default_max_age":5} `))
	f.Add([]byte(`{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "http://idp.test/register", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		var answer struct {
			ClientID     string   `json:"client_id"`
			ClientSecret string   `json:"client_secret"`
			RedirectURIs []string `json:"redirect_uris"`
			Error        string   `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusCreated:
			c, ok := p.Client(answer.ClientID)
			if !ok || c.Secret != answer.ClientSecret {
				t.Fatalf("registered client %q is not usable", answer.ClientID)
			}
			for _, u := range answer.RedirectURIs {
				if err := validateRedirectURI(u); err != nil || !c.redirectAllowed(u) {
					t.Fatalf("accepted redirect URI %q: %v", u, err)
				}
			}
		case http.StatusBadRequest:
			if answer.Error != "invalid_client_metadata" && answer.Error != "invalid_redirect_uri" {
				t.Fatalf("400 with error %q", answer.Error)
			}
		default:
			t.Fatalf("unexpected status %d: %s", rec.Code, rec.Body.String())
		}
	})
}
