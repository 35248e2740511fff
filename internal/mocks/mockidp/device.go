package mockidp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The device authorization grant (RFC 8628), which mockoidc lacks: the IdP keeps the device
// codes, and once a user approves one it creates the session through mockoidc's authorize
// handler and redeems it through mockoidc's token handler, like any other login.

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
)

type deviceAuth struct {
	deviceCode string
	userCode   string // normalised: eight letters, no dash
	client     string
	scopes     []string
	audience   []string
	expires    time.Time
	interval   time.Duration
	lastPoll   time.Time
	state      deviceState
	user       *User
	authTime   time.Time
}

// userCodeAlphabet has no vowels (no words) and no look-alike characters (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)] // 256 % 20 bias is irrelevant for a mock
	}
	return string(b)
}

// displayUserCode formats a normalised code as people type it: BCDF-GHJK.
func displayUserCode(c string) string { return c[:4] + "-" + c[4:] }

// normaliseUserCode accepts what a person might type: any case, dashes and spaces.
func normaliseUserCode(s string) (string, error) {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(c) != 8 || strings.IndexFunc(c, func(r rune) bool { return !strings.ContainsRune(userCodeAlphabet, r) }) >= 0 {
		return "", errors.New("user code: want eight letters like BCDF-GHJK")
	}
	return c, nil
}

type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// handleDeviceAuthorization issues a device code and a user code (RFC 8628 §3.1, §3.2).
func (p *IdP) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, ferr := parseForm(w, r, "resource")
	if ferr != nil {
		writeOAuthError(w, ferr)
		return
	}
	client, err := p.authenticateClient(r, form)
	if err == nil && !client.allowsGrant(GrantDeviceCode) {
		err = &oauthError{Code: "unauthorized_client", Description: fmt.Sprintf("client %s may not use the device grant", client.ID), Status: 400}
	}
	var d *deviceAuth
	if err == nil {
		d, err = p.newDeviceAuth(client, form)
	}
	if err != nil {
		p.decision(r, "device_authorization", "deny", err.Error(), slog.String("client_id", form.Get("client_id")))
		writeOAuthError(w, err)
		return
	}
	p.decision(r, "device_authorization", "allow", "device code issued", slog.String("client_id", client.ID))
	verify := p.DeviceVerificationURL()
	writeJSON(w, http.StatusOK, deviceAuthResponse{DeviceCode: d.deviceCode, UserCode: displayUserCode(d.userCode),
		VerificationURI: verify, VerificationURIComplete: verify + "?" + url.Values{"user_code": {displayUserCode(d.userCode)}}.Encode(),
		ExpiresIn: int64(p.cfg.deviceTTL / time.Second), Interval: int64(p.cfg.deviceInterval / time.Second)})
}

func (p *IdP) newDeviceAuth(client Client, form url.Values) (*deviceAuth, error) {
	scopes, serr := p.parseScopes(form.Get("scope"))
	if serr != nil {
		return nil, serr
	}
	audience, rerr := p.requestedAudience(form["resource"], form["audience"])
	if rerr != nil {
		return nil, rerr
	}
	now := p.cfg.now()
	d := &deviceAuth{deviceCode: randomToken(), client: client.ID, scopes: scopes, audience: audience,
		expires: now.Add(p.cfg.deviceTTL), interval: p.cfg.deviceInterval}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pruneLocked(now)
	for d.userCode = newUserCode(); p.userCodes[d.userCode] != nil; d.userCode = newUserCode() {
	}
	p.devices[d.deviceCode] = d
	p.userCodes[d.userCode] = d
	return d, nil
}

// deviceGrant answers a device's poll (RFC 8628 §3.4, §3.5).
func (p *IdP) deviceGrant(client Client, form url.Values) (tokenResponse, string, error) {
	dc := form.Get("device_code")
	if dc == "" {
		return tokenResponse{}, "", invalidRequest("device_code: required")
	}
	pending := func(code, description string) (tokenResponse, string, error) {
		return tokenResponse{}, "", &oauthError{Code: code, Description: description, Status: http.StatusBadRequest}
	}
	now := p.cfg.now()
	p.mu.Lock()
	d := p.devices[dc]
	switch {
	case d == nil:
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("device_code: unknown, or already redeemed")
	case d.client != client.ID:
		p.mu.Unlock()
		return tokenResponse{}, "", invalidGrant("device_code: issued to another client")
	case !now.Before(d.expires):
		p.forgetDeviceLocked(d)
		p.mu.Unlock()
		return pending("expired_token", "device_code: expired before it was approved")
	}
	audience, aerr := p.narrowAudience(d.audience, form["resource"])
	if aerr != nil {
		p.mu.Unlock()
		return tokenResponse{}, "", aerr
	}
	// A poll sooner than the interval (with a fifth of it as slack for the client's timer
	// and the network) slows the device down by 5s for good (RFC 8628 §3.5).
	tooSoon := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval-d.interval/5
	d.lastPoll = now
	if tooSoon {
		d.interval += 5 * time.Second
		p.mu.Unlock()
		return pending("slow_down", fmt.Sprintf("polled sooner than the interval; wait %v between polls", d.interval))
	}
	switch d.state {
	case devicePending:
		p.mu.Unlock()
		return pending("authorization_pending", "the user has not approved the device yet")
	case deviceDenied:
		p.forgetDeviceLocked(d)
		p.mu.Unlock()
		return pending("access_denied", "the user denied the device")
	}
	p.forgetDeviceLocked(d)
	code, err := p.mockAuthorize(d.user, d.scopes, "", "", "")
	var mt mockTokens
	if err == nil {
		mt, err = p.mockExchange(code, "")
	}
	if err != nil {
		p.mu.Unlock()
		return tokenResponse{}, d.user.Subject, err
	}
	spec := tokenSpec{user: d.user, clientID: client.ID, scopes: d.scopes, audience: d.audience, authTime: d.authTime}
	g := p.newGrantLocked(code, spec, mt.refresh, now)
	p.mu.Unlock()
	spec = g.spec
	spec.audience = audience
	tr, err := p.issue(spec, mt.idClaims, g.refreshJTI, g.refreshExpires)
	return tr, d.user.Subject, err
}

func (p *IdP) forgetDeviceLocked(d *deviceAuth) {
	delete(p.devices, d.deviceCode)
	delete(p.userCodes, d.userCode)
}

// ApproveDevice approves a pending device code as a user (by username, email or subject), as
// a person would on the verification page.
func (p *IdP) ApproveDevice(userCode, user string) error {
	u, err := p.lookupUser(user)
	if err != nil {
		return fmt.Errorf("mockidp: ApproveDevice: %w", err)
	}
	return p.decideDevice(userCode, u)
}

// DenyDevice denies a pending device code; the device's next poll gets access_denied.
func (p *IdP) DenyDevice(userCode string) error { return p.decideDevice(userCode, nil) }

// decideDevice records a person's decision. Its errors never repeat the code: they are logged.
func (p *IdP) decideDevice(userCode string, u *User) error {
	c, err := normaliseUserCode(userCode)
	if err != nil {
		return fmt.Errorf("mockidp: %w", err)
	}
	now := p.cfg.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.userCodes[c]
	switch {
	case d == nil:
		return fmt.Errorf("mockidp: the user code is unknown or already redeemed")
	case !now.Before(d.expires):
		return fmt.Errorf("mockidp: the user code has expired")
	case d.state != devicePending:
		return fmt.Errorf("mockidp: the user code was already approved or denied")
	}
	if u == nil {
		d.state = deviceDenied
		return nil
	}
	d.state, d.user, d.authTime = deviceApproved, u, now
	return nil
}

// pendingDevice describes a pending user code for the verification page.
func (p *IdP) pendingDevice(userCode string) (*deviceAuth, Client, error) {
	c, err := normaliseUserCode(userCode)
	if err != nil {
		return nil, Client{}, err
	}
	now := p.cfg.now()
	p.mu.Lock()
	d := p.userCodes[c]
	var copyOf deviceAuth
	if d != nil {
		copyOf = *d
	}
	client := p.clients[copyOf.client]
	p.mu.Unlock()
	if d == nil || !now.Before(copyOf.expires) || copyOf.state != devicePending {
		return nil, Client{}, errors.New("the user code is unknown, expired or already used")
	}
	return &copyOf, client, nil
}

// handleDeviceVerification is the page where a person enters or confirms a user code and
// picks a user. A POST asking for JSON (Accept: application/json) gets a JSON answer:
// that is how `mcpsso token` approves on a mock IdP.
func (p *IdP) handleDeviceVerification(w http.ResponseWriter, r *http.Request) {
	action := p.DeviceVerificationURL()
	wantsJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	switch r.Method {
	case http.MethodGet:
		data := pageData{Title: "Approve a device", Users: p.users, Action: action}
		status := http.StatusOK
		if raw := r.URL.Query().Get("user_code"); raw != "" {
			d, client, err := p.pendingDevice(raw)
			if err != nil {
				data.Error, status = err.Error(), http.StatusBadRequest
			} else {
				data.UserCode, data.ClientID, data.ClientName = displayUserCode(d.userCode), client.ID, clientName(client)
				data.Scopes = strings.Join(d.scopes, " ")
			}
		}
		renderPage(w, status, "device", data)
		return
	case http.MethodPost:
	default:
		renderMessage(w, http.StatusMethodNotAllowed, "Approve a device", "method "+r.Method+": use GET or POST")
		return
	}
	form, ferr := parseForm(w, r)
	var err error
	decision, message := "allow", ""
	switch {
	case ferr != nil:
		err = ferr
	case form.Get("deny") != "":
		decision, message = "deny", "Device denied. It will not get a token."
		err = p.DenyDevice(form.Get("user_code"))
	default:
		message = "Device approved. You can return to your device."
		err = p.ApproveDevice(form.Get("user_code"), form.Get("login_as"))
	}
	if err != nil {
		p.decision(r, "device_verification", "deny", err.Error())
		if wantsJSON {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
			return
		}
		renderMessage(w, http.StatusBadRequest, "Approve a device", err.Error())
		return
	}
	attrs := []any{}
	if u, ok := p.User(form.Get("login_as")); ok && decision == "allow" {
		attrs = append(attrs, slog.String("sub", u.Subject))
	}
	p.decision(r, "device_verification", decision, message, attrs...)
	if wantsJSON {
		writeJSON(w, http.StatusOK, map[string]string{"decision": decision})
		return
	}
	renderMessage(w, http.StatusOK, "Approve a device", message)
}
