package mockidp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

func TestStartAndCloseAHundredTimes(t *testing.T) {
	servetest.StartAndClose(t, 100, func(ctx context.Context, _ *http.Client) (servetest.Started, error) {
		s, err := mockidp.Start(ctx, mockidp.WithSigningKey(testKey()))
		if err != nil {
			return servetest.Started{}, err
		}
		return servetest.Started{URL: s.IssuerURL() + "/.well-known/openid-configuration", Close: s.Close}, nil
	})
}

// TestAMetadataDocumentFetchLeavesNoConnection: the IdP's fetch of a Client ID Metadata
// Document keeps no connection open to the document's host, which may outlive the IdP.
func TestAMetadataDocumentFetchLeavesNoConnection(t *testing.T) {
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, strings.ReplaceAll(goodMetadataDocument, "{{id}}", "http://"+r.Host+r.URL.Path))
	}))
	defer docs.Close()
	before := goleak.IgnoreCurrent()
	client := &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	p, err := mockidp.Start(t.Context(), mockidp.WithSigningKey(testKey()), mockidp.WithLoopbackClientIDMetadataDocuments())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: docs.URL + "/client.json", Endpoint: p.Endpoint(), RedirectURL: "http://127.0.0.1:7777/callback"}
	resp, err := client.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "code=") {
		t.Fatalf("authorize answered %d, Location %q: the document was not fetched and accepted", resp.StatusCode, loc)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}
