package framework

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInitializeAnswerShowsTheHTTPExchange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			t.Errorf("headers: %v", r.Header)
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Unauthorized"}` + "\n"))
	}))
	defer srv.Close()
	got := InitializeAnswer(context.Background(), srv.URL, "tok", "mcpsso-test")
	if want := `the endpoint answered 401 Unauthorized {"message":"Unauthorized"}`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	srv.Close()
	if got := InitializeAnswer(context.Background(), srv.URL, "tok", "mcpsso-test"); !strings.Contains(got, "connect") {
		t.Errorf("closed server: %q", got)
	}
}
