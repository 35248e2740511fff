package stack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// BrowserAnswer is what the page of a browser-based client gets from a request its browser
// made: the status, the headers and the body it may read, or why the browser kept them from
// it (or did not send the request at all).
type BrowserAnswer struct {
	// Preflight is the status of the CORS preflight, 0 when the browser sent none (a
	// same-origin request).
	Preflight int
	// Blocked says why the page gets a network error instead of the answer: the preflight was
	// refused (the request was then never sent), or the answer does not allow the origin.
	Blocked error
	// Status, Header and Body are the answer as the page sees it when not Blocked; Header holds
	// only what a page may read: the CORS-safelisted response headers and the exposed ones.
	Status int
	Header http.Header
	Body   string
	// Raw is the whole answer as the network saw it (for messages), nil if none was sent.
	Raw *http.Response
}

// BrowserPost sends body as a browser-based MCP client's page served from origin does with
// fetch: to another origin, first the CORS preflight (OPTIONS with Origin,
// Access-Control-Request-Method and the non-safelisted request headers, lower-case and sorted,
// as browsers list them), and only if the browser's checks pass, the POST with Origin and the
// given headers (Authorization, MCP-Protocol-Version, ...; Content-Type application/json and
// Accept are set). It then applies the browser's checks to the answer. An error is a network
// failure; a CORS refusal is BrowserAnswer.Blocked.
func BrowserPost(ctx context.Context, origin, mcpURL string, header http.Header, body string) (*BrowserAnswer, error) {
	u, err := url.Parse(mcpURL)
	if err != nil {
		return nil, err
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	ans := &BrowserAnswer{}
	same := strings.EqualFold(origin, u.Scheme+"://"+u.Host)
	if !same {
		var names []string
		for k := range h {
			if k = strings.ToLower(k); k != "accept" {
				names = append(names, k) // application/json makes content-type non-safelisted too
			}
		}
		slices.Sort(names)
		pre, err := http.NewRequestWithContext(ctx, http.MethodOptions, mcpURL, nil)
		if err != nil {
			return nil, err
		}
		pre.Header.Set("Origin", origin)
		pre.Header.Set("Access-Control-Request-Method", http.MethodPost)
		pre.Header.Set("Access-Control-Request-Headers", strings.Join(names, ","))
		resp, err := http.DefaultClient.Do(pre)
		if err != nil {
			return nil, err
		}
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		ans.Preflight, ans.Raw = resp.StatusCode, resp
		if why := preflightRefusal(resp, origin, names); why != "" {
			ans.Blocked = fmt.Errorf("the CORS preflight from %s was refused (%s): HTTP %d %s", origin, why, resp.StatusCode, text)
			return ans, nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, mcpURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h
	req.Header.Set("Origin", origin) // browsers send it on every POST, same-origin ones too
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ans.Raw = resp
	if !same {
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin && got != "*" {
			ans.Blocked = fmt.Errorf("the answer (HTTP %d) does not allow origin %s: Access-Control-Allow-Origin %q", resp.StatusCode, origin, got)
			return ans, nil
		}
	}
	ans.Status, ans.Body, ans.Header = resp.StatusCode, string(text), readableHeaders(resp.Header, same)
	return ans, nil
}

// preflightRefusal is why a browser refuses a preflight answer, "" if it does not.
func preflightRefusal(resp *http.Response, origin string, headers []string) string {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "not an ok status"
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin && got != "*" {
		return fmt.Sprintf("Access-Control-Allow-Origin %q", got)
	}
	// POST is a CORS-safelisted method: it needs no Access-Control-Allow-Methods.
	allowed := map[string]bool{}
	for _, list := range resp.Header.Values("Access-Control-Allow-Headers") {
		for _, name := range strings.Split(list, ",") {
			allowed[strings.ToLower(strings.TrimSpace(name))] = true
		}
	}
	for _, name := range headers {
		// "*" allows any header but Authorization, which must be named.
		if !allowed[name] && (!allowed["*"] || name == "authorization") {
			return fmt.Sprintf("request header %s is not in Access-Control-Allow-Headers %q", name, resp.Header.Get("Access-Control-Allow-Headers"))
		}
	}
	return ""
}

// readableHeaders are the response headers a page may read: all of a same-origin answer's;
// of a cross-origin one, the CORS-safelisted ones and those in Access-Control-Expose-Headers.
func readableHeaders(h http.Header, sameOrigin bool) http.Header {
	if sameOrigin {
		return h.Clone()
	}
	readable := map[string]bool{"Cache-Control": true, "Content-Language": true, "Content-Length": true, "Content-Type": true,
		"Expires": true, "Last-Modified": true, "Pragma": true}
	for _, list := range h.Values("Access-Control-Expose-Headers") {
		for _, name := range strings.Split(list, ",") {
			readable[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	out := http.Header{}
	for k, v := range h {
		if readable[k] || readable["*"] && k != "Set-Cookie" {
			out[k] = v
		}
	}
	return out
}
