package mockidp_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestAllowedResourcesRestrictTheAudiencesAClientMayAskFor: with WithAllowedResources, a
// resource outside the list is invalid_target (RFC 8707 §2), one inside becomes the audience.
func TestAllowedResourcesRestrictTheAudiencesAClientMayAskFor(t *testing.T) {
	p := startIdP(t, mockidp.WithAllowedResources("https://mcp.example/mcp"))
	tok := pkceLogin(t, p, "alice", oauth2.SetAuthURLParam("resource", "https://mcp.example/mcp"))
	if aud := claimsOf(t, tok.AccessToken)["aud"]; aud != "https://mcp.example/mcp" {
		t.Errorf("aud = %v, want the allowed resource", aud)
	}
	if err := p.QueueLogin("alice"); err != nil {
		t.Fatal(err)
	}
	v := authorizeParams(func(v url.Values) { v.Set("resource", "https://other.example/mcp") })
	q := authorize(t, p.Endpoint().AuthURL+"?"+v.Encode())
	if q.Get("error") != "invalid_target" {
		t.Errorf("a resource outside the list: %v, want invalid_target", q)
	}
	if _, err := mockidp.New(mockidp.WithIssuerURL("http://127.0.0.1:1"), mockidp.WithAllowedResources("relative")); err == nil {
		t.Error("a relative resource in WithAllowedResources was accepted")
	}
}

// TestTokenTTLsSetExpiresInAndExp: WithTokenTTLs sets the access token's lifetime (exp and
// expires_in) and the refresh token's; lifetimes under a second are refused.
func TestTokenTTLsSetExpiresInAndExp(t *testing.T) {
	p := startIdP(t, mockidp.WithTokenTTLs(90*time.Second, 10*time.Minute))
	tok := pkceLogin(t, p, "bob")
	c := claimsOf(t, tok.AccessToken)
	if life := c["exp"].(float64) - c["iat"].(float64); life != 90 {
		t.Errorf("access token lives %vs, want 90", life)
	}
	if in := tok.Extra("expires_in"); in != float64(90) {
		t.Errorf("expires_in = %v, want 90", in)
	}
	status, out := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {mockidp.PublicClientID}, "refresh_token": {tok.RefreshToken}}, "", "")
	if status != http.StatusOK || out["expires_in"] != float64(90) {
		t.Errorf("refresh: %d %v", status, out)
	}
	if _, err := mockidp.New(mockidp.WithIssuerURL("http://127.0.0.1:1"), mockidp.WithTokenTTLs(500*time.Millisecond, time.Hour)); err == nil {
		t.Error("an access-token TTL under a second was accepted")
	}
}

func TestTokenForNamesTheClientAsked(t *testing.T) {
	p := startIdP(t)
	tok, err := p.TokenFor(t.Context(), "alice", mockidp.WithTokenClientID("some-agent"))
	if err != nil {
		t.Fatal(err)
	}
	if got := claimsOf(t, tok)["client_id"]; got != "some-agent" {
		t.Errorf("client_id = %v, want some-agent", got)
	}
}
