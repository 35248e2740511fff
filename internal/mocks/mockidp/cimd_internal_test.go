package mockidp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTheDefaultFetcherRefusesNonPublicAddressesAtConnect: whatever a name resolves to, the
// default fetcher's dialer refuses loopback (and every other non-public address) before a
// byte is sent, so DNS cannot route a client_id URL around the URL check.
func TestTheDefaultFetcherRefusesNonPublicAddressesAtConnect(t *testing.T) {
	hits := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	p := &IdP{cfg: defaultConfig()}
	_, err := p.metadataHTTPClient().Get(srv.URL + "/client.json")
	if err == nil || !strings.Contains(err.Error(), "is not public") {
		t.Fatalf("GET %s: %v, want a refusal naming the address that is not public", srv.URL, err)
	}
	if hits != 0 {
		t.Errorf("the server was reached %d times", hits)
	}
	p.cfg.loopbackCIMD = true
	if _, err := p.metadataHTTPClient().Get(srv.URL + "/client.json"); err == nil || strings.Contains(err.Error(), "is not public") {
		t.Errorf("with the loopback option the dial must go through (then fail TLS verification): %v", err)
	}
}

// FuzzClientMetadataDocument: whatever a client_id URL serves, the IdP either refuses it with
// invalid_client or builds a public client bound to that URL with valid redirect URIs.
func FuzzClientMetadataDocument(f *testing.F) {
	const id = "https://client.example/mcp.json"
	f.Add(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none"}`)
	f.Add(`{"client_id":"` + id + `","client_secret":"x"}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":["javascript:alert(1)"],"token_endpoint_auth_method":"none"}`)
	f.Add(`{"client_id":1}`)
	f.Add(`{} {}`)
	p := &IdP{cfg: defaultConfig()}
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := p.clientFromMetadataDocument(id, []byte(doc))
		if err != nil {
			if err.Code != "invalid_client" || !strings.Contains(err.Description, id) {
				t.Fatalf("error %v: want invalid_client naming the client_id", err)
			}
			return
		}
		if c.ID != id || !c.Public() {
			t.Fatalf("client %+v: want the public client %s", c, id)
		}
		for _, u := range c.RedirectURIs {
			if validateRedirectURI(u) != nil {
				t.Fatalf("redirect URI %q accepted", u)
			}
		}
	})
}
