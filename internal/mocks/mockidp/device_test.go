package mockidp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// deviceStart asks for a device code as the public client and returns the answer.
func deviceStart(t *testing.T, p *mockidp.Server) map[string]any {
	t.Helper()
	status, body := postForm(t, p.Endpoint().DeviceAuthURL, url.Values{"client_id": {mockidp.PublicClientID}, "scope": {"openid"}}, "", "")
	if status != 200 {
		t.Fatalf("device authorization: %d %v", status, body)
	}
	return body
}

func devicePoll(t *testing.T, p *mockidp.Server, deviceCode string) (int, map[string]any) {
	t.Helper()
	return postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {mockidp.GrantDeviceCode},
		"client_id": {mockidp.PublicClientID}, "device_code": {deviceCode}}, "", "")
}

// TestDeviceGrantAnswersEachStateAsRFC8628Says walks the polling answers on a fake clock.
func TestDeviceGrantAnswersEachStateAsRFC8628Says(t *testing.T) {
	clock := newFakeClock()
	p := startIdP(t, mockidp.WithClock(clock.Now), mockidp.WithDeviceFlow(2*time.Second, time.Minute))

	t.Run("a poll before approval is authorization_pending, a quick second poll is slow_down", func(t *testing.T) {
		d := deviceStart(t, p)
		if d["interval"] != 2.0 || d["expires_in"] != 60.0 {
			t.Fatalf("interval and expires_in should be 2 and 60 seconds: %v", d)
		}
		dc := d["device_code"].(string)
		if _, body := devicePoll(t, p, dc); body["error"] != "authorization_pending" {
			t.Fatalf("first poll: %v", body)
		}
		clock.Advance(time.Second)
		if _, body := devicePoll(t, p, dc); body["error"] != "slow_down" {
			t.Fatalf("a poll 1s later with a 2s interval: %v", body)
		}
		// The interval is now 7s: a poll 2s later is still too soon.
		clock.Advance(2 * time.Second)
		if _, body := devicePoll(t, p, dc); body["error"] != "slow_down" {
			t.Fatalf("after slow_down the interval grows by 5s: %v", body)
		}
		if err := p.ApproveDevice(d["user_code"].(string), "bob"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(12 * time.Second)
		status, body := devicePoll(t, p, dc)
		if status != 200 || body["access_token"] == nil || body["expires_in"] != 3600.0 {
			t.Fatalf("after approval: %d %v", status, body)
		}
		if _, body := devicePoll(t, p, dc); body["error"] != "invalid_grant" {
			t.Fatalf("a redeemed device code: %v", body)
		}
	})
	t.Run("a denied device gets access_denied", func(t *testing.T) {
		d := deviceStart(t, p)
		if err := p.DenyDevice(strings.ToLower(d["user_code"].(string))); err != nil { // codes are case-insensitive
			t.Fatal(err)
		}
		if _, body := devicePoll(t, p, d["device_code"].(string)); body["error"] != "access_denied" {
			t.Fatalf("%v", body)
		}
	})
	t.Run("an unapproved device code expires with expired_token", func(t *testing.T) {
		d := deviceStart(t, p)
		clock.Advance(61 * time.Second)
		if _, body := devicePoll(t, p, d["device_code"].(string)); body["error"] != "expired_token" {
			t.Fatalf("%v", body)
		}
		if err := p.ApproveDevice(d["user_code"].(string), "alice"); err == nil {
			t.Error("approving an expired code should fail")
		}
	})
	t.Run("another client cannot poll the device code", func(t *testing.T) {
		d := deviceStart(t, p)
		status, body := postForm(t, p.Endpoint().TokenURL, url.Values{"grant_type": {mockidp.GrantDeviceCode},
			"device_code": {d["device_code"].(string)}}, mockidp.DemoClientID, mockidp.DemoClientSecret)
		if status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("approving twice or approving an unknown code fails with a reason", func(t *testing.T) {
		d := deviceStart(t, p)
		if err := p.ApproveDevice(d["user_code"].(string), "alice"); err != nil {
			t.Fatal(err)
		}
		if err := p.ApproveDevice(d["user_code"].(string), "alice"); err == nil || !strings.Contains(err.Error(), "already") {
			t.Errorf("second approval: %v", err)
		}
		if err := p.ApproveDevice("BCDF-GHJK", "alice"); err == nil || !strings.Contains(err.Error(), "unknown") {
			t.Errorf("unknown code: %v", err)
		}
		if err := p.ApproveDevice("12", "alice"); err == nil || !strings.Contains(err.Error(), "eight letters") {
			t.Errorf("malformed code: %v", err)
		}
		if err := p.ApproveDevice(deviceStart(t, p)["user_code"].(string), "mallory"); err == nil || !strings.Contains(err.Error(), "unknown user") {
			t.Errorf("unknown user: %v", err)
		}
	})
}

// TestDeviceVerificationPageApprovesByFormOrJSON drives the page as a browser form would and
// as `mcpsso token` does (Accept: application/json).
func TestDeviceVerificationPageApprovesByFormOrJSON(t *testing.T) {
	p := startIdP(t)
	d := deviceStart(t, p)
	resp, err := http.Get(d["verification_uri_complete"].(string))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), d["user_code"].(string)) || !strings.Contains(string(page), `value="alice"`) {
		t.Fatalf("verification page %d:\n%s", resp.StatusCode, page)
	}

	req, _ := http.NewRequest(http.MethodPost, p.DeviceVerificationURL(),
		strings.NewReader(url.Values{"user_code": {d["user_code"].(string)}, "login_as": {"alice"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if resp.StatusCode != 200 || answer["decision"] != "allow" {
		t.Fatalf("JSON approval: %d %v", resp.StatusCode, answer)
	}
	if status, body := devicePoll(t, p, d["device_code"].(string)); status != 200 {
		t.Fatalf("poll after approval: %d %v", status, body)
	}

	resp, err = http.PostForm(p.DeviceVerificationURL(), url.Values{"user_code": {"ZZZZ-ZZZZ"}, "login_as": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(page), "unknown") {
		t.Errorf("an unknown code on the form: %d\n%s", resp.StatusCode, page)
	}
}

func TestDeviceAuthorizationValidatesTheClient(t *testing.T) {
	p := startIdP(t, mockidp.WithClients(mockidp.Client{ID: "web", Secret: "x", GrantTypes: []string{mockidp.GrantAuthorizationCode}},
		mockidp.Client{ID: mockidp.PublicClientID, AnyLoopbackRedirect: true}))
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		wantErr    string
	}{
		{"an unknown client is invalid_client", url.Values{"client_id": {"nobody"}}, "", "", "invalid_client"},
		{"a client without the device grant is unauthorized_client", url.Values{}, "web", "x", "unauthorized_client"},
		{"an unknown scope is invalid_scope", url.Values{"client_id": {mockidp.PublicClientID}, "scope": {"root"}}, "", "", "invalid_scope"},
		{"a bad resource is invalid_target", url.Values{"client_id": {mockidp.PublicClientID}, "resource": {"/relative"}}, "", "", "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, body := postForm(t, p.Endpoint().DeviceAuthURL, tc.form, tc.user, tc.pass); body["error"] != tc.wantErr {
				t.Errorf("%v, want %s", body, tc.wantErr)
			}
		})
	}
}
