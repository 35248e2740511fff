package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// API Gateway's 10 MB payload limit: 413 before the authorizer for a body over it, whether its
// length is declared or it comes chunked (API Gateway takes the whole payload first).
func TestAPayloadOver10MBGets413(t *testing.T) {
	allow := func(events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	}
	for _, tc := range []struct {
		name        string
		size        int
		chunked     bool
		wantStatus  int
		wantInvoked bool
	}{
		{"a declared length of 10 MB is served", MaxPayloadBytes, false, http.StatusOK, true},
		{"a declared length over 10 MB gets 413 before the authorizer", MaxPayloadBytes + 1, false, http.StatusRequestEntityTooLarge, false},
		{"a chunked body of 10 MB is served", MaxPayloadBytes, true, http.StatusOK, true},
		{"a chunked body over 10 MB gets 413 before the authorizer", MaxPayloadBytes + 1, true, http.StatusRequestEntityTooLarge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			var calls counter
			g := startGateway(t, httpAPIConfig(up.URL, "", ""), WithAuthorizer("auth", calls.simple(allow)))
			var body io.Reader = strings.NewReader(strings.Repeat("a", tc.size))
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL()+"/mcp", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer t")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, b)
			}
			if tc.wantStatus == http.StatusRequestEntityTooLarge && string(b) != `{"message":"Request Entity Too Large"}` {
				t.Errorf("body %s", b)
			}
			if invoked := calls.n.Load() > 0; invoked != tc.wantInvoked {
				t.Errorf("authorizer invoked: %v, want %v", invoked, tc.wantInvoked)
			}
		})
	}
}
