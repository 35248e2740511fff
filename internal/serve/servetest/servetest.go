// Package servetest is the lifecycle check every server of the kit passes: started and closed
// many times, half of them by ending the start context first, it answers a request each time,
// Close returns no error (twice), and afterwards no goroutine it started is left (goleak).
package servetest

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Started is a running server as the check sees it.
type Started struct {
	// URL answers a GET with any status: a connection and a handler come and go each round.
	URL string
	// Close stops the server; it must return nil, and again when called a second time.
	Close func() error
}

// StartAndClose runs start rounds times. start may send further requests with client, whose
// idle connections the check closes. Odd rounds end the context start was given before
// calling Close, so that Close also has to wait for a shutdown the context began. Goroutines
// that were running before the first round are not counted, so other tests' leftovers (an
// http.DefaultClient connection, say) do not make this one fail.
func StartAndClose(t *testing.T, rounds int, start func(ctx context.Context, client *http.Client) (Started, error)) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	// A client of its own, so its idle connections are the check's to close.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	for i := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := start(ctx, client)
		if err != nil {
			cancel()
			t.Fatalf("round %d: start: %v", i, err)
		}
		resp, err := client.Get(s.URL)
		if err != nil {
			cancel()
			_ = s.Close()
			t.Fatalf("round %d: GET %s: %v", i, s.URL, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if i%2 == 1 {
			cancel()
		}
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: a second Close: %v", i, err)
		}
		cancel()
		client.CloseIdleConnections()
	}
	goleak.VerifyNone(t, before)
}
