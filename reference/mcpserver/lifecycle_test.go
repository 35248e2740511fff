package mcpserver_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mcpsso/mcpsso/internal/serve/servetest"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// Both listeners, the MCP endpoint's and the metrics', are asked each round.
func TestStartAndCloseAHundredTimes(t *testing.T) {
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	servetest.StartAndClose(t, 100, func(ctx context.Context, client *http.Client) (servetest.Started, error) {
		s, err := mcpserver.Start(ctx, awsCfg, mcpserver.WithAddr("127.0.0.1:0"), mcpserver.WithMetricsAddr("127.0.0.1:0"),
			mcpserver.WithoutContextProof(), mcpserver.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			return servetest.Started{}, err
		}
		resp, err := client.Get(s.MetricsURL())
		if err != nil {
			_ = s.Close()
			return servetest.Started{}, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return servetest.Started{URL: s.URL(), Close: s.Close}, nil
	})
}
