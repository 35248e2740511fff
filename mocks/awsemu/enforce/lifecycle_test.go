package enforce_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/mcpsso/mcpsso/internal/serve/servetest"
	"github.com/mcpsso/mcpsso/mocks/awsemu/enforce"
)

// The proxy is given its account, so Start asks no upstream; the GET is refused before one
// would be asked.
func TestStartAndCloseAHundredTimes(t *testing.T) {
	servetest.StartAndClose(t, 100, func(ctx context.Context, _ *http.Client) (servetest.Started, error) {
		s, err := enforce.Start(ctx, "http://127.0.0.1:9", enforce.WithAccount("123456789012", ""))
		if err != nil {
			return servetest.Started{}, err
		}
		return servetest.Started{URL: s.Endpoint(), Close: s.Close}, nil
	})
}
