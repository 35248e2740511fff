package targets

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// clientMetadataHost serves the Client ID Metadata Documents the suites publish, over TLS on
// loopback, to a mock IdP set to trust it (CapClientMetadata): the stand-in for the web site
// where a real MCP client publishes its document.
type clientMetadataHost struct {
	srv  *httptest.Server
	mu   sync.Mutex
	docs map[string][]byte
}

func startClientMetadataHost() *clientMetadataHost {
	h := &clientMetadataHost{docs: map[string][]byte{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	return h
}

func (h *clientMetadataHost) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	doc, ok := h.docs[r.URL.Path]
	h.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// idpOptions make the IdP fetch documents from this host (and only loopback would be refused
// otherwise, as SSRF).
func (h *clientMetadataHost) idpOptions() []mockidp.Option {
	return []mockidp.Option{mockidp.WithLoopbackClientIDMetadataDocuments(), mockidp.WithClientIDMetadataHTTPClient(h.srv.Client())}
}

// publish serves metadata plus client_id at a fresh URL and returns the URL.
func (h *clientMetadataHost) publish(metadata map[string]any) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	path := "/clients/" + hex.EncodeToString(b) + ".json"
	id := h.srv.URL + path
	doc := map[string]any{}
	for k, v := range metadata {
		doc[k] = v
	}
	doc["client_id"] = id
	body, err := json.Marshal(doc)
	if err != nil {
		return "", errorf("client metadata: %v", err)
	}
	h.mu.Lock()
	h.docs[path] = body
	h.mu.Unlock()
	return id, nil
}

func (h *clientMetadataHost) close() { h.srv.Close() }
