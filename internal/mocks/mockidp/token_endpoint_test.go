package mockidp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

func TestTokenEndpointAuthenticatesClientsAndFailsClosed(t *testing.T) {
	p := startIdP(t)
	refresh := pkceLogin(t, p, "alice").RefreshToken
	access, err := p.TokenFor(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		wantStatus int
		wantErr    string
		wantIn     string
	}{
		{"a wrong secret over HTTP Basic is invalid_client with a Basic challenge",
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, mockidp.DemoClientID, "nope", 401, "invalid_client", "wrong client_secret"},
		{"a wrong secret in the form is invalid_client",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.DemoClientID}, "client_secret": {"nope"}}, "", "", 401, "invalid_client", "wrong client_secret"},
		{"a confidential client without its secret is invalid_client",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.DemoClientID}}, "", "", 401, "invalid_client", "confidential"},
		{"a public client presenting HTTP Basic is invalid_client",
			url.Values{"grant_type": {"refresh_token"}}, mockidp.PublicClientID, "", 401, "invalid_client", "public"},
		{"a secret in both the header and the form is invalid_request",
			url.Values{"grant_type": {"refresh_token"}, "client_secret": {mockidp.DemoClientSecret}}, mockidp.DemoClientID, mockidp.DemoClientSecret, 400, "invalid_request", "one method"},
		{"an unknown client is invalid_client",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {"ghost"}}, "", "", 401, "invalid_client", "not registered"},
		{"a repeated parameter is invalid_request",
			url.Values{"grant_type": {"refresh_token", "refresh_token"}, "client_id": {mockidp.PublicClientID}}, "", "", 400, "invalid_request", "sent 2 times"},
		{"a missing grant_type is invalid_request",
			url.Values{"client_id": {mockidp.PublicClientID}}, "", "", 400, "invalid_request", "grant_type: required"},
		{"client_credentials is unsupported_grant_type",
			url.Values{"grant_type": {"client_credentials"}}, mockidp.DemoClientID, mockidp.DemoClientSecret, 400, "unsupported_grant_type", "client_credentials"},
		{"a refresh token of another client is invalid_grant",
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, mockidp.DemoClientID, mockidp.DemoClientSecret, 400, "invalid_grant", "another client"},
		{"an access token used as a refresh token is invalid_grant",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID}, "refresh_token": {access}}, "", "", 400, "invalid_grant", "token_use"},
		{"a refresh that widens the scope is invalid_scope",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID}, "refresh_token": {refresh}, "scope": {"groups"}}, "", "", 400, "invalid_scope", "not granted"},
		{"a refresh for another resource is invalid_target",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID}, "refresh_token": {refresh}, "resource": {"https://other.example"}}, "", "", 400, "invalid_target", "not granted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postForm(t, p.Endpoint().TokenURL, tc.form, tc.user, tc.pass)
			desc, _ := body["error_description"].(string)
			if status != tc.wantStatus || body["error"] != tc.wantErr || !strings.Contains(desc, tc.wantIn) {
				t.Fatalf("got %d %v; want %d %s mentioning %q", status, body, tc.wantStatus, tc.wantErr, tc.wantIn)
			}
		})
	}

	t.Run("a GET is refused", func(t *testing.T) {
		resp, err := http.Get(p.Endpoint().TokenURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /token: %d", resp.StatusCode)
		}
	})
	t.Run("a JSON body is refused", func(t *testing.T) {
		resp, err := http.Post(p.Endpoint().TokenURL, "application/json", strings.NewReader(`{"grant_type":"refresh_token"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("JSON body: %d", resp.StatusCode)
		}
	})
}

func TestOptionsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    mockidp.Option
		wantIn string
	}{
		{"a relative audience is refused", mockidp.WithAudience("quilt"), "absolute URI"},
		{"a reserved tenant claim is refused", mockidp.WithTenantClaim("sub"), "sets this claim itself"},
		{"an unknown algorithm is refused", mockidp.WithSigningAlgorithm("PS256"), "RS256 or ES256"},
		{"a fractional device interval is refused", mockidp.WithDeviceFlow(1500000000, 60000000000), "whole number of seconds"},
		{"users sharing a subject are refused", mockidp.WithUsers(mockidp.User{Username: "a", Subject: "s"}, mockidp.User{Username: "b", Subject: "s"}), "unique"},
		{"a user claim overriding sub is refused", mockidp.WithUsers(mockidp.User{Username: "a", Subject: "s", Claims: map[string]any{"sub": "x"}}), "sets this claim itself"},
		{"an http redirect URI off loopback is refused", mockidp.WithClients(mockidp.Client{ID: "c", RedirectURIs: []string{"http://app.example/cb"}}), "loopback"},
		{"an issuer URL with a query is refused", mockidp.WithIssuerURL("https://idp.example/?x=1"), "query"},
		{"an issuer path without a leading slash is refused", mockidp.WithIssuerPath("oidc"), "start with /"},
		{"a scope with a space is refused", mockidp.WithScopes("a b"), "without spaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mockidp.New(mockidp.WithIssuerURL("https://idp.example"), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.wantIn)
			}
		})
	}
	if _, err := mockidp.New(); err == nil || !strings.Contains(err.Error(), "WithIssuerURL") {
		t.Errorf("New without an issuer: %v", err)
	}
}
