package authorizer_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

// BenchmarkAuthorizer measures whole decisions with a warm JWKS cache: bearer parsing, token
// verification, claim checks, the fixture role store and a JSON decision log (to io.Discard),
// for 48 tokens of three users cycled. "verify" cases turn the verified-token cache off, so
// every decision verifies a signature; "cached" cases show repeat presentations of the same
// tokens with the default cache; the entra-v1 case takes Entra ID's v1 tokens (x5t beside the
// kid) under the entra-v1 preset. "crypto/RS256" is the floor of a verified decision, measured
// in the same run: SHA-256 of a token's signing input and crypto/rsa's VerifyPKCS1v15 alone.
// Run it on one core:
//
//	GOMAXPROCS=1 go test -run '^$' -bench Authorizer ./reference/authorizer
//
// It reports decisions/s (wall clock), the p99 latency of one decision in microseconds, and the
// process's CPU time per decision (cpu-µs/decision) with the decisions one core's CPU second
// makes (decisions/cpu-s): on a shared machine the wall clock also counts other processes'
// turns, the CPU time does not.
func BenchmarkAuthorizer(b *testing.B) {
	b.Run("crypto/RS256/rsa.VerifyPKCS1v15", benchmarkRSAFloor)
	for _, bc := range []struct {
		name    string
		alg     string
		adapter string
		forgery mockidp.Forgery
		cached  bool
		profile string // a mock IdP profile, under the preset of its name
	}{
		{"allow/RS256/verify/Decide", mockidp.RS256, "decide", 0, false, ""},
		{"allow/RS256/verify/HTTPAPI", mockidp.RS256, "http", 0, false, ""},
		{"allow/RS256/verify/REST", mockidp.RS256, "rest", 0, false, ""},
		{"allow/RS256/verify/Decide/entra-v1", mockidp.RS256, "decide", 0, false, mockidp.ProfileEntraV1},
		{"allow/ES256/verify/Decide", mockidp.ES256, "decide", 0, false, ""},
		{"allow/RS256/cached/Decide", mockidp.RS256, "decide", 0, true, ""},
		{"allow/RS256/cached/HTTPAPI", mockidp.RS256, "http", 0, true, ""},
		{"deny/RS256/expired", mockidp.RS256, "decide", mockidp.ForgeExpired, true, ""},
		{"deny/RS256/unknown-kid", mockidp.RS256, "decide", mockidp.ForgeUnknownKeyID, true, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clock := newFakeClock()
			idpOpts := []mockidp.Option{mockidp.WithClock(clock.Now), mockidp.WithSigningKey(signingKey())}
			if bc.alg == mockidp.ES256 {
				idpOpts = append(idpOpts, mockidp.WithSigningAlgorithm(mockidp.ES256))
			}
			if bc.profile != "" {
				idpOpts = append(idpOpts, mockidp.WithProfile(bc.profile))
			}
			p, err := mockidp.Start(context.Background(), idpOpts...)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = p.Close() })
			logger := authorizer.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))
			var a *authorizer.Authorizer
			if bc.profile != "" {
				a, err = profileAuthorizer(b, clock, p, "", logger) // without the token cache
			} else {
				opts := []authorizer.Option{authorizer.WithIssuer(p.IssuerURL()), authorizer.WithJWKSURL(p.JWKSURL()),
					authorizer.WithClock(clock.Now), authorizer.WithRoleStore(fixtureStore(b)), logger}
				if !bc.cached {
					opts = append(opts, authorizer.WithoutTokenCache())
				}
				a, err = authorizer.New(context.Background(), opts...)
			}
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var reqs []authorizer.Request
			for i := range 48 {
				user := []string{"alice", "bob", "dave"}[i%3]
				var tok string
				if bc.forgery != 0 {
					tok, err = p.Forge(ctx, bc.forgery, user)
				} else {
					tok, err = p.TokenFor(ctx, user)
				}
				if err != nil {
					b.Fatal(err)
				}
				reqs = append(reqs, authorizer.Request{RequestID: fmt.Sprint(i), Authorization: []string{"Bearer " + tok}})
			}
			decide := decider(a, bc.adapter)
			for _, r := range reqs { // warms the JWKS cache (and the token cache, when on)
				if err := decide(ctx, r, bc.forgery == 0); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			b.ResetTimer()
			start, cpuStart := time.Now(), processCPU()
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if err := decide(ctx, reqs[i%len(reqs)], bc.forgery == 0); err != nil {
					b.Fatal(err)
				}
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0))
				}
				i++
			}
			elapsed, cpu := time.Since(start), processCPU()-cpuStart
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(i)/elapsed.Seconds(), "decisions/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			if cpu > 0 {
				b.ReportMetric(cpu.Seconds()*1e6/float64(i), "cpu-µs/decision")
				b.ReportMetric(float64(i)/cpu.Seconds(), "decisions/cpu-s")
			}
		})
	}
}

// benchmarkRSAFloor is the cryptography a verified RS256 decision cannot avoid, on the mock
// IdP's tokens and key: the SHA-256 of the signing input and rsa.VerifyPKCS1v15.
func benchmarkRSAFloor(b *testing.B) {
	clock := newFakeClock()
	p := startIdP(b, clock)
	key := &signingKey().PublicKey
	type signed struct {
		input string
		sig   []byte
	}
	var toks []signed
	for i := range 48 {
		tok, err := p.TokenFor(context.Background(), []string{"alice", "bob", "dave"}[i%3])
		if err != nil {
			b.Fatal(err)
		}
		dot := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		if err != nil {
			b.Fatal(err)
		}
		toks = append(toks, signed{tok[:dot], sig})
	}
	b.ReportAllocs()
	start, cpuStart := time.Now(), processCPU()
	i := 0
	for b.Loop() {
		t := toks[i%len(toks)]
		digest := sha256.Sum256([]byte(t.input))
		if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], t.sig); err != nil {
			b.Fatal(err)
		}
		i++
	}
	elapsed, cpu := time.Since(start), processCPU()-cpuStart
	b.ReportMetric(float64(i)/elapsed.Seconds(), "verifies/s")
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1e6/float64(i), "cpu-µs/verify")
	}
}

// decider calls one adapter and checks it decided as expected.
func decider(a *authorizer.Authorizer, adapter string) func(context.Context, authorizer.Request, bool) error {
	check := func(got, want bool) error {
		if got != want {
			return fmt.Errorf("allowed %v, want %v", got, want)
		}
		return nil
	}
	switch adapter {
	case "http":
		return func(ctx context.Context, r authorizer.Request, want bool) error {
			resp, err := a.HTTPAPI(ctx, httpEvent(r.Authorization[0]))
			if err != nil {
				return err
			}
			return check(resp.IsAuthorized, want)
		}
	case "rest":
		return func(ctx context.Context, r authorizer.Request, want bool) error {
			resp, err := a.REST(ctx, restEvent(r.Authorization[0]))
			if err != nil {
				return err
			}
			return check(resp.PolicyDocument.Statement[0].Effect == "Allow", want)
		}
	}
	return func(ctx context.Context, r authorizer.Request, want bool) error {
		d, err := a.Decide(ctx, r)
		if err != nil {
			return err
		}
		return check(d.Allow, want)
	}
}
