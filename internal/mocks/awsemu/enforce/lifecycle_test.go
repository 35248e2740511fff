package enforce_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/enforce"
	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

// Each proxy asks an upstream that outlives it for the admin key's account at Start, so its
// connection to the upstream must end with it.
func TestStartAndCloseAHundredTimes(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	defer upstream.Close()
	servetest.StartAndClose(t, 100, func(ctx context.Context, _ *http.Client) (servetest.Started, error) {
		s, err := enforce.Start(ctx, upstream.URL)
		if err != nil {
			return servetest.Started{}, err
		}
		if s.Account() != "123456789012" {
			_ = s.Close()
			t.Fatalf("account %q, want the upstream's answer", s.Account())
		}
		return servetest.Started{URL: s.Endpoint(), Close: s.Close}, nil
	})
}
