package stack

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestWithoutSignatureVerificationTakesAnyTokenWithGoodClaims: through the gateway, the
// weakened stack takes a token whose signature is gone as long as its claims are good, and still
// refuses what its claims make wrong or what is no JWT at all; the reference stack refuses all
// but the valid token.
func TestWithoutSignatureVerificationTakesAnyTokenWithGoodClaims(t *testing.T) {
	ctx := context.Background()
	for _, weak := range []bool{false, true} {
		var opts []Option
		if weak {
			opts = append(opts, WithoutSignatureVerification())
		}
		s := startStack(t, opts...)
		valid, err := s.TokenFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(valid, ".")
		expired, err := s.IdP().Forge(ctx, mockidp.ForgeExpired, "alice")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, token   string
			allowWhenWeak bool
		}{
			{"the valid token", valid, true},
			{"its signature stripped", parts[0] + "." + parts[1] + ".", true},
			{"alg none, no signature part", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1], true},
			{"an expired token (its claims refuse it)", expired, false},
			{"garbage (no JSON to sign again)", "garbage", false},
		} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.MCPURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-11-25")
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusUnauthorized
			if tc.name == "the valid token" || (weak && tc.allowWhenWeak) {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("weak %v, %s: HTTP %d %.200s; want %d", weak, tc.name, resp.StatusCode, body, want)
			}
		}
	}
}
