package ecscreds_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/serve/servetest"
)

func TestStartAndCloseAHundredTimes(t *testing.T) {
	src := ecscreds.SourceFunc(func(context.Context) (ecscreds.Credentials, error) {
		return ecscreds.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token",
			Expiration: time.Now().Add(time.Hour), RoleArn: "arn:aws:iam::111122223333:role/task"}, nil
	})
	servetest.StartAndClose(t, 100, func(ctx context.Context, client *http.Client) (servetest.Started, error) {
		s, err := ecscreds.Start(ctx, src)
		if err != nil {
			return servetest.Started{}, err
		}
		// An authorized fetch too, so a source call comes and goes.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL(), nil)
		if err != nil {
			return servetest.Started{}, err
		}
		req.Header.Set("Authorization", s.AuthorizationToken())
		resp, err := client.Do(req)
		if err != nil {
			_ = s.Close()
			return servetest.Started{}, err
		}
		_ = resp.Body.Close()
		return servetest.Started{URL: s.URL(), Close: s.Close}, nil
	})
}
