package mockidp_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

const stormSize = 200

// TestDeviceGrantStormOf200Goroutines runs 200 device grants at once through x/oauth2 (run it
// with -race: mockoidc's session map is only safe because the IdP serialises it). Each grant
// waits one 1s polling interval, concurrently, so the test takes about a second plus the
// signing work.
func TestDeviceGrantStormOf200Goroutines(t *testing.T) {
	p := startIdP(t)
	verifier := apiVerifier(t, p, nil)
	users := []string{"alice", "bob", "carol", "dave"}
	subs := map[string]string{}
	for _, u := range users {
		user, _ := p.User(u)
		subs[u] = user.Subject
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, stormSize)
	tokens := make(chan string, stormSize)
	for i := range stormSize {
		wg.Go(func() {
			user := users[i%len(users)]
			conf, err := p.OAuth2Config(mockidp.PublicClientID, "", "openid")
			if err != nil {
				errs <- err
				return
			}
			da, err := conf.DeviceAuth(ctx)
			if err != nil {
				errs <- fmt.Errorf("device auth %d: %w", i, err)
				return
			}
			if err := p.ApproveDevice(da.UserCode, user); err != nil {
				errs <- fmt.Errorf("approve %d: %w", i, err)
				return
			}
			tok, err := conf.DeviceAccessToken(ctx, da)
			if err != nil {
				errs <- fmt.Errorf("poll %d: %w", i, err)
				return
			}
			idt, err := verifier.Verify(ctx, tok.AccessToken)
			if err != nil {
				errs <- fmt.Errorf("verify %d: %w", i, err)
				return
			}
			if idt.Subject != subs[user] {
				errs <- fmt.Errorf("grant %d approved as %s got sub %s", i, user, idt.Subject)
				return
			}
			tokens <- tok.AccessToken
		})
	}
	wg.Wait()
	close(errs)
	close(tokens)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for tok := range tokens {
		if seen[tok] {
			t.Error("two grants got the same access token")
		}
		seen[tok] = true
	}
	if len(seen) != stormSize {
		t.Errorf("%d of %d grants got a token", len(seen), stormSize)
	}
}

// TestConcurrentCodeLoginsAndRefreshesAreRaceFree drives the authorize handler (mockoidc's
// session map) and refreshes from many goroutines at once.
func TestConcurrentCodeLoginsAndRefreshesAreRaceFree(t *testing.T) {
	p := startIdP(t, mockidp.WithSigningAlgorithm(mockidp.ES256))
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "http://127.0.0.1:1/cb", "openid", "profile")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			user := []string{"alice", "bob", "carol", "dave"}[i%4]
			v := oauth2.GenerateVerifier()
			q := authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", user)))
			tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Error(err)
				return
			}
			want, _ := p.User(user)
			if claimsOf(t, tok.AccessToken)["sub"] != want.Subject {
				t.Errorf("login %d as %s got another subject", i, user)
			}
			tok.Expiry = time.Now().Add(-time.Minute) // force a refresh
			if _, err := conf.TokenSource(context.Background(), tok).Token(); err != nil {
				t.Errorf("refresh %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkTokenFor measures minting alone (claims and signature), per algorithm.
func BenchmarkTokenFor(b *testing.B) {
	for _, alg := range []string{mockidp.RS256, mockidp.ES256} {
		b.Run(alg, func(b *testing.B) {
			s := startIdP(b)
			if alg == mockidp.ES256 {
				s = startIdP(b, mockidp.WithSigningAlgorithm(alg))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.TokenFor(context.Background(), "alice"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkAuthCodeLogin is a whole login over loopback HTTP: authorize, then the token
// endpoint (mockoidc session, PKCE, access, ID and refresh tokens).
func BenchmarkAuthCodeLogin(b *testing.B) {
	p := startIdP(b)
	conf, _ := p.OAuth2Config(mockidp.PublicClientID, "http://127.0.0.1:1/cb", "openid", "offline_access")
	for b.Loop() {
		v := oauth2.GenerateVerifier()
		q := authorize(b, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", "alice")))
		if _, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkDeviceGrantStorm runs 200 concurrent device grants per iteration over HTTP,
// approving before the first poll so no grant waits for the polling interval.
func BenchmarkDeviceGrantStorm(b *testing.B) {
	p := startIdP(b)
	for b.Loop() {
		var wg sync.WaitGroup
		for range stormSize {
			wg.Go(func() {
				_, d := postForm(b, p.Endpoint().DeviceAuthURL, url.Values{"client_id": {mockidp.PublicClientID}, "scope": {"openid"}}, "", "")
				if err := p.ApproveDevice(d["user_code"].(string), "bob"); err != nil {
					b.Error(err)
					return
				}
				status, body := postForm(b, p.Endpoint().TokenURL, url.Values{"grant_type": {mockidp.GrantDeviceCode},
					"client_id": {mockidp.PublicClientID}, "device_code": {d["device_code"].(string)}}, "", "")
				if status != 200 {
					b.Errorf("poll: %d %v", status, body)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*stormSize)/b.Elapsed().Seconds(), "grants/s")
}
