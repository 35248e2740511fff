package lambdarie

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const fuzzInvocationID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"

// checkErrorPayload: what the caller of a failed invocation gets is Lambda's error document.
func checkErrorPayload(t *testing.T, desc string, out outcome) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(out.payload, &doc); err != nil {
		t.Fatalf("%s: error payload %q is not a JSON object: %v", desc, out.payload, err)
	}
	typ, ok1 := doc["errorType"].(string)
	_, ok2 := doc["errorMessage"].(string)
	// As JSON carries it: invalid UTF-8 from a header becomes U+FFFD.
	var logged string
	b, _ := json.Marshal(out.errorType)
	_ = json.Unmarshal(b, &logged)
	if !ok1 || !ok2 || typ == "" || typ != logged {
		t.Fatalf("%s: error payload %s lacks errorType %q or errorMessage", desc, out.payload, out.errorType)
	}
}

// FuzzRuntimeAPI sends raw requests — fuzzed method, path, error-type header, body, and a
// chunked body with aws-lambda-go's error trailers — to the Runtime API while invocation
// fuzzInvocationID is in progress. Only a POST of that id's /response or /error ends it: a
// response reaches the caller byte for byte, an error as an {"errorMessage","errorType"}
// document; anything else leaves the invocation running and is refused. Nothing is a 5xx.
func FuzzRuntimeAPI(f *testing.F) {
	p := runtimeAPIPrefix + "/invocation/" + fuzzInvocationID
	f.Add("POST", p+"/response", "", []byte(`{"isAuthorized":true,"context":{"tenant":"acme"}}`), false, "")
	f.Add("POST", p+"/error", "", []byte(`{"errorMessage":"boom","errorType":"errorString","stackTrace":[]}`), false, "")
	f.Add("POST", p+"/error", "Unhandled", []byte(`plain text`), false, "")
	f.Add("POST", p+"/error", "", []byte(`{"errorMessage":1}`), false, "")
	f.Add("POST", p+"/error", "", []byte(`null`), false, "")
	f.Add("POST", p+"/response", "", []byte(`{"partial":`), true, "errorString")
	f.Add("POST", p+"/response", "", []byte(`chunk`), true, "")
	f.Add("POST", runtimeAPIPrefix+"/invocation/other-id/response", "", []byte(`{}`), false, "")
	f.Add("POST", runtimeAPIPrefix+"/invocation//response", "", []byte(`{}`), false, "")
	f.Add("POST", strings.Replace(p, "8476", "%38476", 1)+"/response", "", []byte(`{}`), false, "")
	f.Add("GET", p+"/response", "", []byte{}, false, "")
	f.Add("GET", runtimeAPIPrefix+"/invocation/next", "", []byte{}, false, "")
	f.Add("POST", runtimeAPIPrefix+"/init/error", "Runtime.ExitError", []byte(`{"errorMessage":"no config","errorType":"Runtime.ExitError"}`), false, "")
	f.Add("POST", "/2018-06-01/runtime/../runtime/invocation/"+fuzzInvocationID+"/response", "", []byte(`{}`), false, "")

	f.Fuzz(func(t *testing.T, method, path, errType string, body []byte, chunked bool, trailerType string) {
		if strings.ContainsAny(method+path+errType+trailerType, "\r\n") {
			// A line break would end the request line or the headers early and the body (the
			// answer the checks below compare with) would never be sent: not the request
			// these inputs describe.
			return
		}
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: aws-lambda-go/1.47.0\r\n", method, path)
		if errType != "" {
			fmt.Fprintf(&raw, "%s: %s\r\n", hdrErrorType, errType)
		}
		if chunked {
			fmt.Fprintf(&raw, "Transfer-Encoding: chunked\r\nTrailer: %s, %s\r\n\r\n", trailerErrorType, trailerErrorBody)
			if len(body) > 0 {
				fmt.Fprintf(&raw, "%x\r\n%s\r\n", len(body), body)
			}
			raw.WriteString("0\r\n")
			if trailerType != "" {
				fmt.Fprintf(&raw, "%s: %s\r\n%s: %s\r\n", trailerErrorType, trailerType, trailerErrorBody,
					base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"stream failed","errorType":"`+trailerType+`"}`)))
			}
			raw.WriteString("\r\n")
		} else {
			fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n%s", len(body), body)
		}
		r, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return
		}

		// A runtime without a process: it has "exited" (so GET .../next does not wait) and
		// is already stopped (so an init error does not kill anything).
		rt := &runtime{cfg: defaultSettings(), arn: "arn:aws:lambda:us-east-1:111122223333:function:fuzz",
			next: make(chan *invocation), exited: make(chan struct{})}
		close(rt.exited)
		rt.once.Do(func() {})
		inv := newInvocation([]byte(`{}`), "", "")
		inv.id = fuzzInvocationID
		rt.current = inv

		rec := httptest.NewRecorder()
		rt.routes().ServeHTTP(rec, r)
		desc := fmt.Sprintf("%s %s (%s) → %d %s", method, path, r.URL.Path, rec.Code, rec.Body)
		if rec.Code >= 500 {
			t.Fatalf("%s: server error", desc)
		}
		var out *outcome
		select {
		case o := <-inv.result:
			out = &o
		default:
		}
		isNext := r.Method == http.MethodGet && r.URL.Path == runtimeAPIPrefix+"/invocation/next"
		switch {
		case out == nil:
			if rt.current != inv {
				t.Fatalf("%s: the invocation ended without an outcome", desc)
			}
			if r.Method == http.MethodPost && r.URL.Path == runtimeAPIPrefix+"/init/error" {
				if rec.Code != http.StatusAccepted || rt.initErr == nil || rt.initErr.kind != outcomeInitError {
					t.Fatalf("%s: init error not recorded: %+v", desc, rt.initErr)
				}
				checkErrorPayload(t, desc, *rt.initErr)
				return
			}
			if rec.Code < 300 {
				t.Fatalf("%s: accepted without ending the invocation", desc)
			}
			if r.Method == http.MethodPost && (path == "/2018-06-01/runtime/invocation/"+fuzzInvocationID+"/response" ||
				path == "/2018-06-01/runtime/invocation/"+fuzzInvocationID+"/error") {
				t.Fatalf("%s: the invocation's own answer was refused", desc)
			}
		case isNext:
			if out.errorType != "Runtime.NoResponse" {
				t.Fatalf("%s: asking for the next invocation ended this one with %+v", desc, out)
			}
			checkErrorPayload(t, desc, *out)
		default:
			if r.Method != http.MethodPost || rt.current != nil {
				t.Fatalf("%s: ended the invocation", desc)
			}
			kind := strings.TrimPrefix(r.URL.Path, runtimeAPIPrefix+"/invocation/"+fuzzInvocationID+"/")
			if kind != "response" && kind != "error" {
				t.Fatalf("%s: ended invocation %s with a request for %s", desc, fuzzInvocationID, r.URL.Path)
			}
			if rec.Code == http.StatusBadRequest && out.errorType == "Runtime.TruncatedResponse" {
				// The body or its trailers could not be read (a malformed trailer line): the
				// runtime is told so, and the caller gets a function error, never a payload.
				checkErrorPayload(t, desc, *out)
				return
			}
			if rec.Code != http.StatusAccepted {
				t.Fatalf("%s: an accepted answer", desc)
			}
			// The trailers, as HTTP delivered them once the body was read.
			if kind == "response" && r.Trailer.Get(trailerErrorType) == "" {
				if out.kind != outcomeOK || !bytes.Equal(out.payload, body) {
					t.Fatalf("%s: response %q reached the caller as %s %q", desc, body, out.kind, out.payload)
				}
				return
			}
			if out.kind != outcomeFunctionError {
				t.Fatalf("%s: an error reached the caller as %s", desc, out.kind)
			}
			checkErrorPayload(t, desc, *out)
		}
	})
}

// FuzzInvoke sends fuzzed Invoke API requests to an emulator whose function cannot run (it is
// closed). Exactly a POST to /2015-03-31/functions/{function, its name or ARN}/invocations with
// a valid invocation type and client context reaches the function — and then, since none
// runs, gets a function error (200, X-Amz-Function-Error, Lambda's error document), never a
// payload that could pass for the function's answer; everything else is a 4xx API error with
// its X-Amzn-ErrorType.
func FuzzInvoke(f *testing.F) {
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
	f.Add("POST", "/2015-03-31/functions/function/invocations", "", "", []byte(`{"type":"REQUEST"}`))
	f.Add("POST", "/2015-03-31/functions/mcp-authorizer/invocations", "RequestResponse", cc, []byte(`{}`))
	f.Add("POST", "/2015-03-31/functions/arn:aws:lambda:us-east-1:111122223333:function:mcp-authorizer/invocations", "", "", []byte(`{}`))
	f.Add("POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A111122223333%3Afunction%3Amcp-authorizer/invocations", "", "", []byte(`{}`))
	f.Add("POST", "/2015-03-31/functions/function/invocations", "DryRun", "", []byte(`{}`))
	f.Add("POST", "/2015-03-31/functions/function/invocations", "Event", "", []byte(`{}`))
	f.Add("POST", "/2015-03-31/functions/function/invocations", "", "bm90IGpzb24=", []byte(`{}`))
	f.Add("POST", "/2015-03-31/functions/other/invocations", "", "", []byte(`{}`))
	f.Add("GET", "/2015-03-31/functions/function/invocations", "", "", []byte{})
	f.Add("POST", "/2015-03-31/functions/function%2Fx/invocations", "", "", []byte{})
	f.Add("POST", "/2015-03-31/functions//invocations", "", "", []byte{})

	f.Fuzz(func(t *testing.T, method, path, invType, clientCtx string, body []byte) {
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n", method, path)
		if invType != "" {
			fmt.Fprintf(&raw, "X-Amz-Invocation-Type: %s\r\n", invType)
		}
		if clientCtx != "" {
			fmt.Fprintf(&raw, "X-Amz-Client-Context: %s\r\n", clientCtx)
		}
		fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n%s", len(body), body)
		r, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return
		}
		cfg := defaultSettings()
		cfg.functionName = "mcp-authorizer"
		e := &Emulator{cfg: cfg, arn: "arn:aws:lambda:us-east-1:111122223333:function:mcp-authorizer", slot: make(chan struct{}, 1), closed: true}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		desc := fmt.Sprintf("%s %s (%s) type %q context %q → %d %s", method, path, r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"),
			r.Header.Get("X-Amz-Client-Context"), rec.Code, rec.Body)

		name, prefixed := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		name, suffixed := strings.CutSuffix(name, "/invocations")
		named := prefixed && suffixed && (name == "function" || name == "mcp-authorizer" || name == e.arn)
		typ := r.Header.Get("X-Amz-Invocation-Type")
		ccOK := true
		if c := r.Header.Get("X-Amz-Client-Context"); c != "" {
			b, err := base64.StdEncoding.DecodeString(c)
			ccOK = err == nil && json.Valid(b)
		}
		valid := named && r.Method == http.MethodPost && (typ == "" || typ == "RequestResponse" || typ == "DryRun") && ccOK
		switch {
		case valid && typ == "DryRun":
			if rec.Code != http.StatusNoContent {
				t.Fatalf("%s: a valid dry run", desc)
			}
		case valid:
			var doc map[string]string
			if rec.Code != http.StatusOK || rec.Header().Get(HeaderFunctionError) != functionErrUnhandled ||
				json.Unmarshal(rec.Body.Bytes(), &doc) != nil || doc["errorType"] != "Runtime.Unavailable" || doc["errorMessage"] == "" {
				t.Fatalf("%s: an invocation of a function that cannot run", desc)
			}
		default:
			var doc map[string]string
			if rec.Code < 400 || rec.Code >= 500 || rec.Header().Get("X-Amzn-ErrorType") == "" || rec.Header().Get(HeaderFunctionError) != "" ||
				json.Unmarshal(rec.Body.Bytes(), &doc) != nil || doc["message"] == "" {
				t.Fatalf("%s: an invalid invocation", desc)
			}
		}
	})
}
