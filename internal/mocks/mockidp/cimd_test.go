package mockidp_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// metadataHost serves Client ID Metadata Documents over TLS on loopback: path → body, with
// a count of fetches.
type metadataHost struct {
	srv     *httptest.Server
	docs    map[string]string
	headers map[string]http.Header
	fetches atomic.Int32
}

func startMetadataHost(t *testing.T) *metadataHost {
	t.Helper()
	h := &metadataHost{docs: map[string]string{}, headers: map[string]http.Header{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fetches.Add(1)
		body, ok := h.docs[r.URL.Path]
		if loc := h.headers[r.URL.Path].Get("Location"); loc != "" {
			http.Redirect(w, r, loc, http.StatusFound)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		for k, v := range h.headers[r.URL.Path] {
			w.Header()[k] = v
		}
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// publish serves doc at path, with "{{id}}" replaced by the document's own URL, and returns
// that URL.
func (h *metadataHost) publish(path, doc string) string {
	id := h.srv.URL + path
	h.docs[path] = strings.ReplaceAll(doc, "{{id}}", id)
	return id
}

const goodMetadataDocument = `{"client_id":"{{id}}","client_name":"An MCP client","redirect_uris":["http://127.0.0.1:7777/callback"],
	"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}`

func startCIMDIdP(t *testing.T, h *metadataHost, opts ...mockidp.Option) *mockidp.Server {
	return startIdP(t, append([]mockidp.Option{mockidp.WithLoopbackClientIDMetadataDocuments(),
		mockidp.WithClientIDMetadataHTTPClient(h.srv.Client())}, opts...)...)
}

func metadataDocumentSupported(t *testing.T, p *mockidp.Server) any {
	t.Helper()
	resp, err := http.Get(p.IssuerURL() + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m["client_id_metadata_document_supported"]
}

// TestAClientNamedByItsMetadataDocumentCanLogIn: the client_id is the document's URL; the IdP
// fetches it, logs the user in, issues and refreshes tokens for it, and caches the document.
func TestAClientNamedByItsMetadataDocumentCanLogIn(t *testing.T) {
	h := startMetadataHost(t)
	id := h.publish("/oauth/client.json", goodMetadataDocument)
	p := startCIMDIdP(t, h)
	if got := metadataDocumentSupported(t, p); got != true {
		t.Fatalf("client_id_metadata_document_supported = %v, want true", got)
	}
	conf := &oauth2.Config{ClientID: id, Endpoint: p.Endpoint(), RedirectURL: "http://127.0.0.1:7777/callback", Scopes: []string{"openid", "offline_access"}}
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", "http://127.0.0.1:3000/mcp")))
	if q.Get("error") != "" {
		t.Fatalf("authorize: %s: %s", q.Get("error"), q.Get("error_description"))
	}
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tok.AccessToken); c["client_id"] != id || c["aud"] != "http://127.0.0.1:3000/mcp" {
		t.Errorf("claims: %v", c)
	}
	tok.Expiry = tok.Expiry.Add(-24 * 60 * 60 * 1e9) // force the refresh
	refreshed, err := conf.TokenSource(t.Context(), tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || claimsOf(t, refreshed.AccessToken)["aud"] != "http://127.0.0.1:3000/mcp" {
		t.Errorf("the refresh kept neither a new token nor the grant's audience: %v", claimsOf(t, refreshed.AccessToken))
	}
	if n := h.fetches.Load(); n != 1 {
		t.Errorf("the document was fetched %d times for authorize, exchange and refresh; want 1 (cached)", n)
	}
}

func TestMetadataDocumentsAreCheckedAndFailuresAreInvalidClient(t *testing.T) {
	h := startMetadataHost(t)
	good := h.publish("/good.json", goodMetadataDocument)
	tests := []struct {
		name     string
		clientID func() string
		redirect string
		want     string
	}{
		{"a document that is not there", func() string { return h.srv.URL + "/missing.json" }, "", "fetch answered 404"},
		{"a document naming another client_id", func() string {
			return h.publish("/other.json", strings.Replace(goodMetadataDocument, "{{id}}", "https://elsewhere.example/client.json", 1))
		}, "", `must equal the URL it is served from`},
		{"a document with a client_secret", func() string {
			return h.publish("/secret.json", strings.Replace(goodMetadataDocument, `"client_name"`, `"client_secret":"s","client_name"`, 1))
		}, "", "client_secret"},
		{"a document without token_endpoint_auth_method", func() string {
			return h.publish("/noauth.json", strings.Replace(goodMetadataDocument, `,"token_endpoint_auth_method":"none"`, "", 1))
		}, "", "token_endpoint_auth_method: required"},
		{"a document with a shared-secret auth method", func() string {
			return h.publish("/basic.json", strings.Replace(goodMetadataDocument, `"none"`, `"client_secret_basic"`, 1))
		}, "", "supports only none"},
		{"a document with a known field of the wrong type", func() string {
			return h.publish("/wrongtype.json", strings.Replace(goodMetadataDocument, `"client_name":"An MCP client"`, `"client_name":7`, 1))
		}, "", `client_name`},
		{"a document with an http redirect URI off loopback", func() string {
			return h.publish("/badredirect.json", strings.Replace(goodMetadataDocument, "http://127.0.0.1:7777/callback", "http://app.example/cb", 1))
		}, "", "http is allowed only for loopback"},
		{"a document that is not JSON", func() string { return h.publish("/notjson.json", "<html>") }, "", "invalid character"},
		{"a document over 5 KiB", func() string {
			return h.publish("/big.json", strings.Replace(goodMetadataDocument, `"An MCP client"`, `"`+strings.Repeat("x", 6000)+`"`, 1))
		}, "", "larger than 5120 bytes"},
		{"a document served as text/html", func() string {
			id := h.publish("/html.json", goodMetadataDocument)
			h.headers["/html.json"] = http.Header{"Content-Type": {"text/html"}}
			return id
		}, "", `Content-Type "text/html"`},
		{"a redirect to the document is not followed", func() string {
			h.headers["/moved.json"] = http.Header{"Location": {good}}
			return h.srv.URL + "/moved.json"
		}, "", "fetch answered 302"},
		{"a client_id URL without a path", func() string { return h.srv.URL }, "", "needs a path"},
		{"a client_id URL with a dot segment", func() string { return h.srv.URL + "/a/../good.json" }, "", ". or .. path segments"},
		{"a client_id URL with user information", func() string { return strings.Replace(good, "https://", "https://u:p@", 1) }, "", "user information"},
		{"a redirect URI the document does not list", func() string { return good }, "http://127.0.0.1:7777/elsewhere", "not registered for client"},
	}
	p := startCIMDIdP(t, h)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.clientID()
			redirect := tt.redirect
			if redirect == "" {
				redirect = "http://127.0.0.1:7777/callback"
			}
			v := authorizeParams(func(v url.Values) { v.Set("client_id", id); v.Set("redirect_uri", redirect) })
			resp, err := noRedirects.Get(p.Endpoint().AuthURL + "?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := html.UnescapeString(string(raw))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("authorize answered %d, want 400 (shown, never redirected) containing %q:\n%s", resp.StatusCode, tt.want, body)
			}
			if tt.redirect != "" {
				return // the document is fine: the token endpoint would accept the client
			}
			status, out := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {id},
				"code": {"x"}, "redirect_uri": {redirect}, "code_verifier": {oauth2.GenerateVerifier()}}, "", "")
			if status != http.StatusUnauthorized || out["error"] != "invalid_client" || !strings.Contains(out["error_description"].(string), tt.want) {
				t.Errorf("token endpoint: %d %v, want 401 invalid_client containing %q", status, out, tt.want)
			}
		})
	}
}

// TestMetadataDocumentsOnLoopbackNeedTheOption: by default the IdP refuses to fetch from
// loopback or private hosts, and plain http anywhere; the test option opens loopback only.
func TestMetadataDocumentsOnLoopbackNeedTheOption(t *testing.T) {
	h := startMetadataHost(t)
	id := h.publish("/client.json", goodMetadataDocument)
	strict := startIdP(t, mockidp.WithClientIDMetadataHTTPClient(h.srv.Client()))
	for _, clientID := range []string{id, "https://10.0.0.8/client.json", "https://169.254.169.254/latest/meta-data", "http://127.0.0.1:1/client.json", "http://mcp-client.example/client.json"} {
		status, out := postForm(t, strict.Endpoint().TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {"x"}}, "", "")
		if status != http.StatusUnauthorized || out["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want 401 invalid_client", clientID, status, out)
		}
	}
	if n := h.fetches.Load(); n != 0 {
		t.Errorf("the IdP fetched %d documents from loopback without the option", n)
	}
	off := startIdP(t, mockidp.WithoutClientIDMetadataDocuments(), mockidp.WithLoopbackClientIDMetadataDocuments(), mockidp.WithClientIDMetadataHTTPClient(h.srv.Client()))
	if got := metadataDocumentSupported(t, off); got != nil {
		t.Errorf("with documents off, the metadata still says client_id_metadata_document_supported = %v", got)
	}
	status, out := postForm(t, off.Endpoint().TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {"x"}}, "", "")
	if status != http.StatusUnauthorized || !strings.Contains(out["error_description"].(string), "does not accept Client ID Metadata Documents") {
		t.Errorf("with documents off: %d %v", status, out)
	}
}
