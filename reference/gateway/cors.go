package gateway

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// CORSPreflight is what a MOCK integration answers to a browser's CORS preflight: the OPTIONS
// request (Origin, Access-Control-Request-Method, Access-Control-Request-Headers) a browser
// sends before a cross-origin request that carries Authorization or a JSON body. The route
// serving it takes no authorizer: a preflight carries no token.
//
// On AWS this is what "Enable CORS" builds on a REST API: an OPTIONS method with a MOCK
// integration whose integration response sets the Access-Control-Allow-* headers. A static
// header holds one origin; for several, the integration response's mapping template echoes the
// request's Origin when it is listed (#set($context.responseOverride.header...)) and answers
// 403 otherwise. With a proxy integration the backend must add Access-Control-Allow-Origin to
// the actual responses itself (the reference MCP server does, for its allowed origins). HTTP
// APIs have a CORS configuration of their own instead, which the emulator does not model.
type CORSPreflight struct {
	// AllowOrigins are the origins (scheme://host[:port]) whose preflight is approved;
	// ${publicOrigin} is the API's own. WithAllowedOrigins (`mcpsso gateway serve
	// --allowed-origin`) adds to them. "*" approves every origin.
	AllowOrigins []string `yaml:"allowOrigins"`
	// AllowMethods is Access-Control-Allow-Methods: the methods a browser may then send.
	AllowMethods []string `yaml:"allowMethods"`
	// AllowHeaders is Access-Control-Allow-Headers: the request headers a browser may then
	// send beyond the CORS-safelisted ones (authorization, content-type, mcp-protocol-version,
	// mcp-session-id, ...).
	AllowHeaders []string `yaml:"allowHeaders"`
	// MaxAge is Access-Control-Max-Age in seconds, 0 (not sent) to 86400: how long a browser
	// may reuse the answer.
	MaxAge int `yaml:"maxAge"`
}

// corsPreflight is a validated CORSPreflight.
type corsPreflight struct {
	anyOrigin bool
	origins   map[string]bool // lower-case
	methods   []string        // upper-case
	headers   []string        // lower-case
	maxAge    int
}

// CheckOrigin reports whether s is a browser origin as a browser sends it in the Origin header:
// scheme://host[:port], scheme http or https, nothing after the host or port (not even "/").
func CheckOrigin(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an origin: want scheme://host[:port], such as http://localhost:6274", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: an origin's scheme is http or https", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q: an origin names a host: scheme://host[:port]", s)
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return fmt.Errorf("%q: an origin is scheme://host[:port] with nothing after it, not even a trailing /", s)
	}
	return nil
}

func compileCORS(p *problems, path string, in *CORSPreflight, subst substitutions) *corsPreflight {
	c := &corsPreflight{origins: map[string]bool{}, maxAge: in.MaxAge}
	if len(in.AllowOrigins) == 0 {
		p.addf(path+".allowOrigins", "at least one origin is required (${publicOrigin} is the API's own)")
	}
	for i, raw := range in.AllowOrigins {
		o := subst.expand(raw)
		if o == "*" {
			c.anyOrigin = true
			continue
		}
		if err := CheckOrigin(o); err != nil {
			p.addf(fmt.Sprintf("%s.allowOrigins[%d]", path, i), "%v", err)
			continue
		}
		c.origins[strings.ToLower(o)] = true
	}
	if len(in.AllowMethods) == 0 {
		p.addf(path+".allowMethods", "at least one method is required (the methods a browser may send after the preflight)")
	}
	for i, m := range in.AllowMethods {
		if m = strings.ToUpper(m); !routeMethods[m] || m == "ANY" {
			p.addf(fmt.Sprintf("%s.allowMethods[%d]", path, i), "%q: must be GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS", in.AllowMethods[i])
			continue
		}
		c.methods = append(c.methods, m)
	}
	for i, h := range in.AllowHeaders {
		if !validHeaderName(h) {
			p.addf(fmt.Sprintf("%s.allowHeaders[%d]", path, i), "%q is not a header name", h)
			continue
		}
		c.headers = append(c.headers, strings.ToLower(h))
	}
	if in.MaxAge < 0 || in.MaxAge > 86400 {
		p.addf(path+".maxAge", "%d: must be 0 (not sent) to 86400 seconds", in.MaxAge)
	}
	return c
}

func (c *corsPreflight) allows(origin string) bool {
	return c.anyOrigin || c.origins[strings.ToLower(origin)]
}

// servePreflight answers an OPTIONS request at a CORS preflight MOCK integration: a listed
// Origin gets the Access-Control-Allow-* headers; another Origin gets 403, logged as a deny
// with the reason. A request the browser will then refuse to send (a method or header not
// allowed) is answered the same way AWS would, and logged as a deny naming what is missing.
func (x *exchange) servePreflight(w http.ResponseWriter, c *corsPreflight) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origins := x.r.Header.Values("Origin")
	if len(origins) > 1 || len(origins) == 1 && !c.allows(origins[0]) {
		origin := strings.Join(origins, ", ")
		reason := fmt.Sprintf("Origin %q is not allowed to call this API from a browser; add it with %s", origin, x.g.originHint)
		x.deny(origin, reason)
		body, _ := json.Marshal(map[string]string{"message": reason})
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(body)
		return
	}
	if len(origins) == 1 {
		h.Set("Access-Control-Allow-Origin", origins[0])
		if m := x.r.Header.Get("Access-Control-Request-Method"); m != "" && !slices.Contains(c.methods, strings.ToUpper(m)) {
			x.deny(origins[0], fmt.Sprintf("the browser will not send %s: Access-Control-Allow-Methods is %s", m, strings.Join(c.methods, ", ")))
		}
		if missing := c.missingHeaders(x.r.Header.Values("Access-Control-Request-Headers")); len(missing) > 0 {
			x.deny(origins[0], fmt.Sprintf("the browser will not send header %s: not in Access-Control-Allow-Headers", strings.Join(missing, ", ")))
		}
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(c.methods, ", "))
	if len(c.headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.headers, ", "))
	}
	if c.maxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(c.maxAge))
	}
	w.WriteHeader(http.StatusOK)
}

// missingHeaders are the requested headers (comma-separated lists) not allowed.
func (c *corsPreflight) missingHeaders(requested []string) []string {
	var out []string
	for _, list := range requested {
		for _, name := range strings.Split(list, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" && !slices.Contains(c.headers, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// deny logs a CORS decision against origin.
func (x *exchange) deny(origin, reason string) {
	x.g.log.LogAttrs(x.r.Context(), slog.LevelInfo, "cors preflight", slog.String("requestId", x.requestID),
		slog.String("decision", "deny"), slog.String("origin", origin), slog.String("path", x.r.URL.Path), slog.String("reason", reason))
}
