package mockidp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; the MCP
// authorization spec of 2025-11-25 makes it the SHOULD way for a client to register): the
// client_id is an HTTPS URL, and the IdP learns the client by fetching it.

// Limits of a metadata document fetch. The MCP spec asks servers to bound the response; 5 KiB
// holds any real client's metadata.
const (
	maxMetadataDocumentBytes = 5 << 10
	metadataFetchTimeout     = 5 * time.Second
	defaultMetadataCacheTTL  = 5 * time.Minute
	maxMetadataCacheTTL      = 24 * time.Hour
	maxCachedMetadataClients = 1000
)

// clientMetadataDocument is what the client_id URL serves: client_id plus RFC 7591 client
// metadata, decoded like a registration request (unknown fields ignored). client_secret and
// client_secret_expires_at are listed only to refuse them by name.
type clientMetadataDocument struct {
	ClientID              string  `json:"client_id"`
	ClientSecret          *string `json:"client_secret"`
	ClientSecretExpiresAt *int64  `json:"client_secret_expires_at"`
	ClientIDIssuedAt      *int64  `json:"client_id_issued_at"`
	registrationRequest
}

type cachedMetadataClient struct {
	client  Client
	expires time.Time
}

// isClientIDURL reports whether a client_id asks for a metadata document rather than naming
// a registered client.
func isClientIDURL(id string) bool {
	return strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://")
}

// checkClientIDURL applies the draft's rules to a client_id URL (§3): https, a path, no dot
// segments, fragment or user information. Plain http, and any loopback or private host, only
// with WithLoopbackClientIDMetadataDocuments (tests serve their documents on 127.0.0.1).
func (p *IdP) checkClientIDURL(id string) (*url.URL, *oauthError) {
	u, err := url.Parse(id)
	if err != nil {
		return nil, invalidClient("client_id %q: not a URL: %v", id, err)
	}
	loopback := isLoopbackHost(u.Hostname())
	switch {
	case u.Scheme == "http" && !(loopback && p.cfg.loopbackCIMD):
		return nil, invalidClient("client_id %q: a Client ID Metadata Document URL must be https (plain http only on loopback, with WithLoopbackClientIDMetadataDocuments)", id)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, invalidClient("client_id %q: a Client ID Metadata Document URL must be https", id)
	case u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(id, "#"):
		return nil, invalidClient("client_id %q: needs a host and no user information or fragment (Client ID Metadata Document §3)", id)
	case u.Path == "" || u.Path == "/":
		return nil, invalidClient("client_id %q: needs a path, not just a host (Client ID Metadata Document §3)", id)
	case slices.ContainsFunc(strings.Split(u.Path, "/"), func(s string) bool { return s == "." || s == ".." }):
		return nil, invalidClient("client_id %q: must not contain . or .. path segments (Client ID Metadata Document §3)", id)
	case !p.cfg.loopbackCIMD && (loopback || privateHost(u.Hostname())):
		return nil, invalidClient("client_id %q: the IdP does not fetch metadata documents from loopback or private addresses (SSRF); tests opt in with WithLoopbackClientIDMetadataDocuments", id)
	}
	return u, nil
}

func privateHost(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && !publicAddr(a)
}

// publicAddr reports whether the IdP may connect to a: not loopback, private, link-local
// (which holds cloud metadata services), multicast or unspecified.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast())
}

// metadataHTTPClient fetches documents: no redirects (a document is served at its own URL),
// a timeout, and by default a dialer that refuses non-public addresses after DNS resolution,
// so a client_id cannot point the IdP at the network it sits in.
func (p *IdP) metadataHTTPClient() *http.Client {
	if p.cfg.cimdHTTP != nil {
		c := *p.cfg.cimdHTTP
		c.CheckRedirect = refuseRedirect
		if c.Timeout == 0 {
			c.Timeout = metadataFetchTimeout
		}
		return &c
	}
	dialer := &net.Dialer{Timeout: metadataFetchTimeout}
	if !p.cfg.loopbackCIMD {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddr(ap.Addr()) {
				return fmt.Errorf("address %s is not public", address)
			}
			return nil
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = dialer.DialContext
	transport.Proxy = nil // the dialer's check must see the document's own host
	// A transport per fetch: a connection kept alive would outlive the fetch, and the IdP,
	// until the document's host closed it. Documents are cached; a fresh connection is cheap.
	transport.DisableKeepAlives = true
	return &http.Client{Transport: transport, Timeout: metadataFetchTimeout, CheckRedirect: refuseRedirect}
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// metadataClient returns the client a client_id URL describes, from the cache or by fetching
// its document. Every failure is an invalid_client naming the rule.
func (p *IdP) metadataClient(ctx context.Context, id string) (Client, *oauthError) {
	if !p.cfg.cimd {
		return Client{}, invalidClient("client_id %q: not registered, and this IdP does not accept Client ID Metadata Documents", id)
	}
	if _, oerr := p.checkClientIDURL(id); oerr != nil {
		return Client{}, oerr
	}
	now := p.cfg.now()
	p.mu.Lock()
	cached, ok := p.metadataClients[id]
	p.mu.Unlock()
	if ok && now.Before(cached.expires) {
		return cached.client, nil
	}
	c, ttl, oerr := p.fetchMetadataClient(ctx, id)
	if oerr != nil {
		return Client{}, oerr
	}
	if ttl > 0 {
		p.mu.Lock()
		if len(p.metadataClients) >= maxCachedMetadataClients {
			for k, v := range p.metadataClients {
				if !now.Before(v.expires) || len(p.metadataClients) >= maxCachedMetadataClients {
					delete(p.metadataClients, k)
				}
			}
		}
		p.metadataClients[id] = cachedMetadataClient{client: c, expires: now.Add(ttl)}
		p.mu.Unlock()
	}
	return c, nil
}

// fetchMetadataClient fetches the document at id, the client_id exactly as the client sent it:
// the document's client_id must equal that string, not a normalised form of it.
func (p *IdP) fetchMetadataClient(ctx context.Context, id string) (Client, time.Duration, *oauthError) {
	fail := func(format string, args ...any) (Client, time.Duration, *oauthError) {
		return Client{}, 0, invalidClient("client_id %q: Client ID Metadata Document: %s", id, fmt.Sprintf(format, args...))
	}
	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.metadataHTTPClient().Do(req)
	if err != nil {
		return fail("fetch failed: %v", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("fetch answered %d, want 200 (redirects are not followed)", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fail("Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataDocumentBytes+1))
	if err != nil {
		return fail("reading the body: %v", err)
	}
	if len(body) > maxMetadataDocumentBytes {
		return fail("larger than %d bytes", maxMetadataDocumentBytes)
	}
	c, oerr := p.clientFromMetadataDocument(id, body)
	if oerr != nil {
		return Client{}, 0, oerr
	}
	return c, metadataCacheTTL(resp.Header.Get("Cache-Control")), nil
}

// clientFromMetadataDocument applies the draft's rules (§4) and the IdP's registration rules
// to a fetched document.
func (p *IdP) clientFromMetadataDocument(id string, body []byte) (Client, *oauthError) {
	fail := func(format string, args ...any) (Client, *oauthError) {
		return Client{}, invalidClient("client_id %q: Client ID Metadata Document: %s", id, fmt.Sprintf(format, args...))
	}
	var doc clientMetadataDocument
	if _, err := decodeClientMetadata(body, &doc); err != nil {
		return fail("%v", err)
	}
	switch {
	case doc.ClientID != id:
		return fail("its client_id %q must equal the URL it is served from", doc.ClientID)
	case doc.ClientSecret != nil || doc.ClientSecretExpiresAt != nil:
		return fail("client_secret and client_secret_expires_at must not appear: a metadata document's client has no shared secret")
	case doc.TokenEndpointAuthMethod == nil:
		return fail("token_endpoint_auth_method: required, and must be none (its RFC 7591 default, client_secret_basic, needs a shared secret)")
	case *doc.TokenEndpointAuthMethod != "none":
		return fail("token_endpoint_auth_method %q: this IdP supports only none for metadata-document clients (public clients with PKCE)", *doc.TokenEndpointAuthMethod)
	}
	c, _, err := p.clientFromRegistration(doc.registrationRequest)
	if err != nil {
		var oe *oauthError
		if errors.As(err, &oe) {
			return fail("%s", oe.Description)
		}
		return fail("%v", err)
	}
	c.ID = id
	if c.Name == "" {
		c.Name = "client at " + hostOf(id)
	}
	return c, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}

// metadataCacheTTL honours the document's Cache-Control (no-store and no-cache: fetch every
// time; max-age: that long, at most a day); without one the IdP keeps it five minutes.
func metadataCacheTTL(cacheControl string) time.Duration {
	ttl := defaultMetadataCacheTTL
	for _, d := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			secs, err := strconv.Atoi(strings.Trim(value, `"`))
			if err != nil || secs < 0 {
				return 0
			}
			ttl = min(time.Duration(secs)*time.Second, maxMetadataCacheTTL)
		}
	}
	return ttl
}

// decodeStrictJSON decodes exactly one JSON object with known fields only.
func decodeStrictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("must hold exactly one JSON object")
	}
	return nil
}

// lookupClient finds the client a request names: a registered client, else one described by
// a Client ID Metadata Document at the client_id URL.
func (p *IdP) lookupClient(ctx context.Context, id string) (Client, *oauthError) {
	if c, ok := p.Client(id); ok {
		return c, nil
	}
	if isClientIDURL(id) {
		return p.metadataClient(ctx, id)
	}
	return Client{}, invalidClient("client_id %q: not registered with this IdP", id)
}
