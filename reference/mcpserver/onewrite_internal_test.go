package mcpserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// The AWS client sends a small streamed body with its headers in one write, the same bytes,
// and closes the body it was given without replacing it in the caller's request.
func TestAWSClientSendsASmallBodyInOneWrite(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	defer srv.Close()
	var writes atomic.Int32
	client, tr := newAWSHTTPClient()
	defer tr.CloseIdleConnections()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countingConn{c, &writes}, err
	}
	for _, tc := range []struct {
		name   string
		rt     http.RoundTripper
		writes int32
	}{
		{"net/http alone", tr, 2}, // the case oneWrite is for: headers flushed, then the body
		{"oneWrite", client.Transport, 1},
	} {
		form := "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx"
		body := &closeRecorder{Reader: struct{ io.Reader }{strings.NewReader(form)}} // not known to be in memory
		req, err := http.NewRequest(http.MethodPost, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(form))
		writes.Store(0)
		resp, err := tc.rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if got != form {
			t.Errorf("%s: the server read %q, want %q", tc.name, got, form)
		}
		if n := writes.Load(); n != tc.writes {
			t.Errorf("%s: the request took %d writes, want %d", tc.name, n, tc.writes)
		}
		if !body.closed || req.Body != io.ReadCloser(body) {
			t.Errorf("%s: body closed %v, the caller's request kept its body %v", tc.name, body.closed, req.Body == io.ReadCloser(body))
		}
	}
}
