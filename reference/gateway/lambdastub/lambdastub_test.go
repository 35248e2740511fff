package lambdastub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type event struct {
	Name string `json:"name"`
}

type answer struct {
	Greeting string `json:"greeting"`
}

func TestServerSpeaksTheInvokeAPI(t *testing.T) {
	s := New(map[string]Func{
		"hello": Typed(func(_ context.Context, e event) (answer, error) { return answer{"hi " + e.Name}, nil }),
		"fails": func(context.Context, []byte) ([]byte, error) { return nil, errors.New("Unauthorized") },
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	post := func(method, path, body string) (int, http.Header, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, strings.TrimSpace(string(b))
	}
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
		wantFunctionError        string
	}{
		{"a typed function decodes the event and encodes its answer", "POST", "/2015-03-31/functions/hello/invocations", `{"name":"ann"}`,
			200, `{"greeting":"hi ann"}`, ""},
		{"an event the function cannot decode is a function error", "POST", "/2015-03-31/functions/hello/invocations", `[1]`,
			200, "", "Unhandled"},
		{"a function's error is reported as the Invoke API reports it", "POST", "/2015-03-31/functions/fails/invocations", `{}`,
			200, `{"errorMessage":"Unauthorized","errorType":"errorString"}`, "Unhandled"},
		{"an unknown function is a 404", "POST", "/2015-03-31/functions/nope/invocations", `{}`, 404, "", ""},
		{"a GET is refused", "GET", "/2015-03-31/functions/hello/invocations", "", 405, "", ""},
		{"another path is a 404", "POST", "/invoke", `{}`, 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := post(tc.method, tc.path, tc.body)
			if status != tc.wantStatus || tc.wantBody != "" && body != tc.wantBody || header.Get("X-Amz-Function-Error") != tc.wantFunctionError {
				t.Errorf("%d %q %s", status, header.Get("X-Amz-Function-Error"), body)
			}
		})
	}
	if s.Calls("hello") != 2 || s.Calls("fails") != 1 {
		t.Errorf("calls hello=%d fails=%d", s.Calls("hello"), s.Calls("fails"))
	}
}
