package awsemu_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

func TestStartAndCloseAHundredTimes(t *testing.T) {
	servetest.StartAndClose(t, 100, func(ctx context.Context, _ *http.Client) (servetest.Started, error) {
		s, err := awsemu.Start(ctx)
		if err != nil {
			return servetest.Started{}, err
		}
		return servetest.Started{URL: s.Endpoint(), Close: s.Close}, nil
	})
}
