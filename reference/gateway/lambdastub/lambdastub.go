// Package lambdastub serves Go functions over the Lambda Invoke API
// (POST /2015-03-31/functions/NAME/invocations), as the Lambda Runtime Interface Emulator serves
// the handler of a container image: a small stand-in for tests, and a way to run a Go
// authorizer out of process behind the gateway's LambdaInvoke.
//
// A function's error comes back as the Invoke API reports an unhandled error: status 200, the
// header X-Amz-Function-Error: Unhandled, and {"errorMessage": ..., "errorType": ...}.
package lambdastub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
)

// Func handles one invocation: the event payload in, the response payload out.
type Func func(ctx context.Context, payload []byte) ([]byte, error)

// Typed adapts a typed handler (the shape lambda.Start takes) to a Func: the payload is decoded
// into E and the result encoded as JSON.
func Typed[E, R any](fn func(context.Context, E) (R, error)) Func {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev E
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decoding the event: %w", err)
		}
		out, err := fn(ctx, ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// Server is an http.Handler serving named functions.
type Server struct {
	mu        sync.Mutex
	functions map[string]Func
	calls     map[string]int
	// OmitFunctionErrorHeader leaves out X-Amz-Function-Error on errors (older Runtime
	// Interface Emulators send only the error payload).
	OmitFunctionErrorHeader bool
}

// New serves the functions by name.
func New(functions map[string]Func) *Server {
	s := &Server{functions: map[string]Func{}, calls: map[string]int{}}
	for k, f := range functions {
		s.functions[k] = f
	}
	return s
}

// Calls is how many times a function was invoked.
func (s *Server) Calls(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

const prefix = "/2015-03-31/functions/"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, prefix)
	name, ok2 := strings.CutSuffix(name, "/invocations")
	if !ok || !ok2 || name == "" || strings.Contains(name, "/") {
		writeJSON(w, http.StatusNotFound, map[string]string{"Type": "User", "message": "no such route: " + r.URL.Path})
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"Type": "User", "message": "invoke with POST"})
		return
	}
	s.mu.Lock()
	fn := s.functions[name]
	if fn != nil {
		s.calls[name]++
	}
	s.mu.Unlock()
	if fn == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"Type": "User", "message": "Function not found: " + name})
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"Type": "User", "message": err.Error()})
		return
	}
	out, err := fn(r.Context(), payload)
	if err != nil {
		if !s.OmitFunctionErrorHeader {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		writeJSON(w, http.StatusOK, map[string]string{"errorMessage": err.Error(), "errorType": errorType(err)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// errorType names the error's type as the Go runtime does (errors.New gives "errorString").
func errorType(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
