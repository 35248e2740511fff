package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

// Each round sends one allowed request through to an upstream that outlives the gateway, so
// the gateway's own connections to its integration must end with it.
func TestStartAndCloseAHundredTimes(t *testing.T) {
	up := newUpstream(t)
	c, err := ParseConfig("lifecycle.yaml", []byte(httpAPIConfig(up.URL, "", "")))
	if err != nil {
		t.Fatal(err)
	}
	allow := HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	})
	servetest.StartAndClose(t, 100, func(ctx context.Context, client *http.Client) (servetest.Started, error) {
		s, err := Start(ctx, WithConfig(c), WithAuthorizer("auth", allow))
		if err != nil {
			return servetest.Started{}, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/mcp", nil)
		if err != nil {
			return servetest.Started{}, err
		}
		req.Header.Set("Authorization", "Bearer t")
		resp, err := client.Do(req)
		if err != nil {
			_ = s.Close()
			return servetest.Started{}, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			_ = s.Close()
			t.Fatalf("the allowed request got %d", resp.StatusCode)
		}
		return servetest.Started{URL: s.URL(), Close: s.Close}, nil
	})
}

// TestCloseNamesAnAuthorizerThatIgnoresItsContext: the request gets its 500 at the authorizer
// timeout, but the call itself cannot be stopped; Close says so rather than leaving it behind
// unnoticed.
func TestCloseNamesAnAuthorizerThatIgnoresItsContext(t *testing.T) {
	up := newUpstream(t)
	release := make(chan struct{})
	returned := make(chan struct{})
	stuck := HTTPAPIAuthorizer(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		defer close(returned)
		<-release
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	})
	c, err := ParseConfig("stuck.yaml", []byte(httpAPIConfig(up.URL, "", "")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(t.Context(), WithConfig(c), WithAuthorizer("auth", stuck), WithAuthorizerTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if got := call(t, "POST", s.URL()+"/mcp", map[string]string{"Authorization": "Bearer t"}); got.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 at the authorizer timeout", got.status)
	}
	err = s.Close()
	if err == nil || !strings.Contains(err.Error(), "1 authorizer call") || !strings.Contains(err.Error(), "ignores its context") {
		t.Fatalf("Close = %v, want it to name the authorizer call still running", err)
	}
	close(release)
	<-returned
}
