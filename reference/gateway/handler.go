package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// exchange is one request through the gateway, and what its access log reports.
type exchange struct {
	g          *Gateway
	r          *http.Request
	start      time.Time
	requestID  string
	path       string // below the stage
	route      *route
	pathParams map[string]string

	authContext       map[string]string
	principalID       string
	authorizerStatus  int
	authorizerLatency time.Duration
	authorizerError   string

	integrationStart   time.Time
	integrationStatus  int
	integrationLatency time.Duration
	integrationError   string

	status         int
	responseLength int64
	errorType      string
	errorMessage   string
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ServeHTTP runs a request through the API: route, authorizer, parameter mapping, integration.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{g: g, r: r, start: g.now(), requestID: newRequestID()}
	rec := &recorder{ResponseWriter: w, x: x}
	if g.api.typ == HTTPAPI {
		w.Header().Set("Apigw-Requestid", x.requestID)
	} else {
		w.Header().Set("X-Amzn-Requestid", x.requestID)
	}
	defer x.logAccess(r.Context())
	if requestHeaderBytes(r) > MaxHeaderBytes || r.ContentLength > MaxPayloadBytes || !bufferUnknownLength(r) {
		x.writeFailure(rec, failTooLarge)
		return
	}
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	if p := g.api.stagePrefix; p != "" {
		rest, ok := strings.CutPrefix(path, p)
		if !ok || rest != "" && !strings.HasPrefix(rest, "/") {
			x.writeFailure(rec, failNoRoute)
			return
		}
		path = or(rest, "/")
	}
	x.path = path
	x.route, x.pathParams = g.api.findRoute(r.Method, path)
	if x.route == nil {
		x.writeFailure(rec, failNoRoute)
		return
	}
	if x.route.authorizer != nil && !x.authorize(rec) {
		return
	}
	in := x.route.integration
	switch {
	case in.prm != nil:
		x.serveMetadata(rec, in.prm)
		return
	case in.cors != nil:
		x.servePreflight(rec, in.cors)
		return
	case in.asm != nil:
		x.serveJSON(rec, in.asm)
		return
	}
	x.forward(rec, in)
}

// bufferUnknownLength reads a body sent without a length (chunked), as API Gateway takes the
// whole payload before it calls the integration, and reports false when it runs over
// MaxPayloadBytes. A body with a length streams (inlineBody reads a small one once the request
// is authorized).
func bufferUnknownLength(r *http.Request) bool {
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if len(b) > MaxPayloadBytes {
		return false
	}
	_ = r.Body.Close()
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	if err != nil { // the client went away mid-body: the integration gets what came, and fails
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
	}
	return true
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// requestHeaderBytes is the size of the request line and headers, as API Gateway limits it.
func requestHeaderBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2 + len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// authorize runs the route's authorizer, or answers from the cache; false means the request
// was answered with a 401, 403 or 500. Nothing but an allow lets the request through.
func (x *exchange) authorize(w http.ResponseWriter) bool {
	g, spec := x.g, x.route.authorizer
	values := make([]string, 0, len(spec.sources))
	for _, v := range spec.sources {
		s, ok := x.lookup(v)
		if !ok || s == "" {
			x.authorizerError = "identity source " + spec.sourceText[len(values)] + " is missing"
			x.writeFailure(w, failNoIdentity)
			return false
		}
		values = append(values, s)
	}
	if spec.validation != nil && !spec.validation.MatchString(values[0]) {
		x.authorizerError = "the token does not match identityValidationExpression"
		x.writeFailure(w, failUnauthorized)
		return false
	}
	var key string
	v, cached := (*verdict)(nil), false
	if spec.ttl > 0 {
		key = cacheKey(spec.name, values)
		v, cached = g.cache.get(key, g.now())
	}
	if !cached {
		started := time.Now()
		var err error
		v, err = g.callAuthorizer(x.r.Context(), spec.kind, g.impls[spec.name], x.authorizerEvent(spec, values))
		x.authorizerLatency = time.Since(started)
		if err != nil {
			x.authorizerError = err.Error()
			f := failAuthorizer
			switch {
			case spec.kind != kindHTTPSimple && spec.kind != kindHTTPPolicy && isUnauthorized(err):
				x.authorizerStatus = 401
				x.writeFailure(w, failUnauthorized)
				return false
			case errors.Is(err, errMalformed):
				f = failMalformed
			}
			x.authorizerStatus = 500
			g.log.LogAttrs(x.r.Context(), slog.LevelWarn, "authorizer failed", slog.String("requestId", x.requestID),
				slog.String("authorizer", spec.name), slog.String("error", err.Error()))
			x.writeFailure(w, f)
			return false
		}
		x.authorizerStatus = 200
		if spec.ttl > 0 {
			now := g.now()
			g.cache.put(key, v, now.Add(spec.ttl), now)
		}
	}
	switch v.decide(x.arn()) {
	case allow:
		x.authContext, x.principalID = v.context, v.principalID
		return true
	case denyExplicit:
		x.writeFailure(w, failDenyExplicit)
	default:
		x.writeFailure(w, failDenyImplicit)
	}
	return false
}

// arn is the routeArn (HTTP APIs) or methodArn (REST APIs) of the request.
func (x *exchange) arn() string {
	return "arn:aws:execute-api:" + x.g.region + ":" + x.g.account + ":" + x.g.apiID + "/" + x.g.api.stage + "/" +
		x.r.Method + "/" + strings.TrimPrefix(x.path, "/")
}

// lookup supplies the request's variables to mappings, identity sources and logs.
func (x *exchange) lookup(v variable) (string, bool) {
	switch v.src {
	case srcHeader:
		if strings.EqualFold(v.name, "host") {
			return x.r.Host, x.r.Host != ""
		}
		vs := x.r.Header.Values(v.name)
		return strings.Join(vs, ","), len(vs) > 0
	case srcQuery:
		vs, ok := x.r.URL.Query()[v.name]
		return strings.Join(vs, ","), ok
	case srcPath:
		return x.path, true
	case srcPathParam:
		s, ok := x.pathParams[v.name]
		return s, ok
	case srcStageVar:
		s, ok := x.g.api.cfg.StageVariables[v.name]
		return s, ok
	}
	return x.contextVar(v.name)
}

func (x *exchange) contextVar(name string) (string, bool) {
	itoa := func(n int) (string, bool) { return strconv.Itoa(n), n != 0 }
	ms := func(d time.Duration) (string, bool) { return strconv.FormatInt(d.Milliseconds(), 10), d != 0 }
	switch name {
	case "requestId", "extendedRequestId":
		return x.requestID, true
	case "apiId":
		return x.g.apiID, true
	case "accountId":
		return x.g.account, true
	case "stage":
		return x.g.api.stage, true
	case "routeKey":
		if x.route == nil {
			return "-", true
		}
		return x.route.key, true
	case "resourcePath":
		if x.route == nil {
			return "", false
		}
		return x.route.resourcePath(), true
	case "domainName":
		return x.r.Host, true
	case "domainPrefix":
		return strings.SplitN(x.r.Host, ".", 2)[0], true
	case "httpMethod":
		return x.r.Method, true
	case "path":
		return x.r.URL.Path, true
	case "protocol":
		return x.r.Proto, true
	case "identity.sourceIp":
		return sourceIP(x.r), true
	case "identity.userAgent":
		return x.r.UserAgent(), true
	case "requestTime":
		return x.start.UTC().Format("02/Jan/2006:15:04:05 -0700"), true
	case "requestTimeEpoch":
		return strconv.FormatInt(x.start.UnixMilli(), 10), true
	case "status":
		return itoa(x.status)
	case "responseLength":
		return strconv.FormatInt(x.responseLength, 10), true
	case "responseLatency":
		return ms(x.g.now().Sub(x.start))
	case "integrationLatency":
		return ms(x.integrationLatency)
	case "integrationStatus":
		return itoa(x.integrationStatus)
	case "integrationErrorMessage":
		return x.integrationError, x.integrationError != ""
	case "authorizer.error":
		return x.authorizerError, x.authorizerError != ""
	case "authorizer.status":
		return itoa(x.authorizerStatus)
	case "authorizer.latency":
		return ms(x.authorizerLatency)
	case "authorizer.principalId":
		return x.principalID, x.principalID != ""
	case "error.message", "error.messageString":
		return x.errorMessage, x.errorMessage != ""
	case "error.responseType":
		return x.errorType, x.errorType != ""
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok {
		s, ok := x.authContext[key]
		return s, ok
	}
	return "", false
}

func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// serveMetadata answers a MOCK integration: the RFC 9728 protected resource metadata.
func (x *exchange) serveMetadata(w http.ResponseWriter, prm *ProtectedResourceMetadata) {
	body, _ := json.Marshal(prm)
	x.serveJSON(w, body)
}

// serveJSON answers a MOCK integration with a public JSON document.
func (x *exchange) serveJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*") // public: browser-based clients on any origin read it
	w.WriteHeader(http.StatusOK)
	if x.r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

type exchangeKey struct{}

// forward proxies the request to the integration, with its parameter mappings, timeout and
// streaming.
func (x *exchange) forward(w http.ResponseWriter, in *integration) {
	timeout := in.timeout
	if x.g.integrationTimeout > 0 {
		timeout = x.g.integrationTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithValue(x.r.Context(), exchangeKey{}, x), timeout)
	defer cancel()
	x.integrationStart = time.Now()
	x.g.proxy.ServeHTTP(w, x.r.WithContext(ctx))
	if x.integrationStatus == 0 {
		x.integrationLatency = time.Since(x.integrationStart)
	}
}

// rewrite builds the integration request.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(exchangeKey{}).(*exchange)
	in := x.route.integration
	out := pr.Out
	var query url.Values // parsed only when a mapping writes to it
	if mapsQuery(in.mappings) {
		query = pr.In.URL.Query()
	}
	path := x.path
	pathParams := map[string]string{}
	for k, v := range x.pathParams {
		pathParams[k] = v
	}
	inlineBody(out)
	applyMappings(in.mappings, x, out.Header, query, &path, pathParams)
	target := *in.uri
	if g.api.typ == RESTAPI {
		if strings.IndexByte(in.uri.Path, '{') >= 0 { // only then can uriPlaceholder match
			target.Path = uriPlaceholder.ReplaceAllStringFunc(in.uri.Path, func(m string) string { return pathParams[m[1:len(m)-1]] })
		}
		target.RawPath = ""
	} else {
		if in.vpcLink && g.api.stage != "$default" && !in.pathSet {
			path = "/" + g.api.stage + path
		}
		target.Path = strings.TrimSuffix(in.uri.Path, "/") + path
		target.RawPath = ""
	}
	if target.Path == "" {
		target.Path = "/"
	}
	if query != nil {
		target.RawQuery = query.Encode()
	} else {
		target.RawQuery = pr.In.URL.RawQuery
	}
	out.URL = &target
	out.Host = ""
	pr.SetXForwarded()
}

// inlineBodyBytes is the largest request body the gateway reads in full before it forwards it.
// API Gateway takes the whole payload before it calls an integration in any case; here it also
// saves a write: net/http sends a body it holds in memory with the request's headers, where a
// streamed one (the proxy's wrapper around the client's body) gets a write of its own after the
// headers were flushed, and the integration a read of its own.
const inlineBodyBytes = 64 << 10

// inlineBody replaces out's streamed body, when its length is known and at most
// inlineBodyBytes, with the same bytes in memory. A client that goes away mid-body leaves the
// integration what came and then the read's error, as the streamed body would have.
func inlineBody(out *http.Request) {
	if out.Body == nil || out.ContentLength <= 0 || out.ContentLength > inlineBodyBytes {
		return
	}
	b := make([]byte, out.ContentLength)
	n, err := io.ReadFull(out.Body, b)
	if err != nil {
		out.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b[:n]), errReader{err}))
		return
	}
	out.Body = io.NopCloser(bytes.NewReader(b))
}

func mapsQuery(ms []mapping) bool {
	for _, m := range ms {
		if m.target == targetQuery {
			return true
		}
	}
	return false
}

func (g *Gateway) modifyResponse(resp *http.Response) error {
	x := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	x.integrationStatus = resp.StatusCode
	x.integrationLatency = time.Since(x.integrationStart)
	return nil
}

// proxyError answers a failed integration request: 504/503 on timeout, 504/500 otherwise.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := r.Context().Value(exchangeKey{}).(*exchange)
	x.integrationError = err.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		x.writeFailure(w, failTimeout)
		return
	}
	if r.Context().Err() != nil { // the client went away
		x.status = 499
		return
	}
	x.writeFailure(w, failIntegration)
}

// recorder notes the status and length of what reaches the client; Unwrap lets the reverse
// proxy flush streamed responses through it.
type recorder struct {
	http.ResponseWriter
	x           *exchange
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader && code >= 200 {
		r.wroteHeader = true
		r.x.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.x.responseLength += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
