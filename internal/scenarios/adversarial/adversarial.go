// Package adversarial is the regression table of attacks a deployment must refuse, so that no
// change reopens one: an HMAC token keyed with the IdP's public key (alg confusion) in four
// encodings of the key, kid injection, keys the token names itself (jku, x5u, jwk, x5c: never
// fetched, never trusted), two Authorization headers, and requests over the size limits, each
// with the status that says why; and the keyless forgeries, answered as a bad token must be
// (401, an invalid_token challenge naming the resource metadata): alg none, a key that is not
// the IdP's (under its kid, under an unknown kid, another issuer's), claims changed under the
// IdP's signature (sub, tenant, aud, exp) and the signature stripped. Every attack starts from
// a valid token of a mapped user and changes one thing, so a refusal can only be for that
// thing; none needs the IdP's private key, so they run against any target.
package adversarial

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
)

var (
	conformance = Label(string(fw.Conformance))
	// auth is the auth-surface tier's label (conform --tier auth): these attacks need one valid
	// token and the IdP's published key, never a tool of the deployment.
	auth = fw.Labels(fw.Auth)
)

var _ = fw.Describe("Attacks refused", fw.Adversarial, func() {
	// tokenEntries are the table's entries, one per attack, named by it.
	tokenEntries := func(attacks []tokenAttack) []TableEntry {
		var out []TableEntry
		for _, at := range attacks {
			out = append(out, Entry(at.name, at))
		}
		return out
	}
	// refusesToken presents the attack's token and checks the refusal, and that nothing the
	// token names was fetched.
	refusesToken := func(ctx SpecContext, at tokenAttack) {
		v := tokenOf(ctx)
		jwk, pub := publishedKey(ctx, v)
		a := newAttacker()
		before := a.hits.Load()
		tok, err := at.make(v, a, jwk, pub)
		Expect(err).NotTo(HaveOccurred())
		expectRefused(callWhoami(ctx, []string{"Bearer " + tok}, "", nil), "a token made by "+at.name)
		Expect(a.hits.Load()-before).To(BeZero(), "the deployment made %d requests to the attacker's server at %s, whose URL the token named", a.hits.Load()-before, a.srv.URL)
	}

	DescribeTable("refuse a token HMAC-signed (HS256) with the IdP's public key as the secret (alg confusion), the key as",
		refusesToken, conformance, auth, tokenEntries(algConfusion))

	DescribeTable("refuse a token whose kid is an injection:", refusesToken, conformance, auth, tokenEntries(kidInjection))

	DescribeTable("never fetch or trust a key the token names itself, refusing a token signed with the attacker's key and its",
		refusesToken, conformance, auth, tokenEntries(namedKeys))

	// forgeryEntries are the keyless forgeries' entries, named by what each changes.
	forgeryEntries := func(forgeries []keylessForgery) []TableEntry {
		var out []TableEntry
		for _, kf := range forgeries {
			out = append(out, Entry(kf.name, kf))
		}
		return out
	}
	// answersInvalidToken presents the forgery and checks the answer to a bad token, and that
	// nothing the token names (the attacker's issuer) was fetched.
	answersInvalidToken := func(ctx SpecContext, kf keylessForgery) {
		f := forgerOf(ctx)
		before := f.a.hits.Load()
		tok, err := kf.make(f)
		if errors.Is(err, errNoTenantClaim) {
			Skip(fmt.Sprintf("the token of %s carries their tenant %q in no claim: no tenant claim to change", mappedUser().Name, f.tenant))
		}
		Expect(err).NotTo(HaveOccurred())
		expectInvalidToken(callWhoami(ctx, []string{"Bearer " + tok}, "", nil), "a token made with "+kf.name)
		Expect(f.a.hits.Load()-before).To(BeZero(), "the deployment made %d requests to the attacker's server at %s, whose URL the token named", f.a.hits.Load()-before, f.a.srv.URL)
	}

	DescribeTable("answer an unsigned token with 401 and an invalid_token challenge naming the resource metadata, running no tool:",
		answersInvalidToken, conformance, auth, forgeryEntries(unsigned))

	DescribeTable("answer a token signed with a key that is not the IdP's with 401 and an invalid_token challenge naming the resource metadata, running no tool:",
		answersInvalidToken, conformance, auth, forgeryEntries(otherKeys))

	DescribeTable("answer a token whose claims were changed under the IdP's signature with 401 and an invalid_token challenge naming the resource metadata, running no tool; the claim changed:",
		answersInvalidToken, conformance, auth, forgeryEntries(changedClaims))

	DescribeTable("answer a valid token with its signature stripped with 401 and an invalid_token challenge naming the resource metadata, running no tool:",
		answersInvalidToken, conformance, auth, forgeryEntries(stripped))

	// Authorization is not a list header: two of them are read one way by one component and
	// another way by the next, so the request is refused whatever they hold.
	DescribeTable("refuse a request with two Authorization headers:",
		func(ctx SpecContext, values func(ctx context.Context, valid string) []string) {
			v := tokenOf(ctx)
			expectRefused(callWhoami(ctx, values(ctx, v.raw), "", nil), "two Authorization headers")
		}, conformance, auth,
		Entry("the same valid token twice", func(_ context.Context, valid string) []string {
			return []string{"Bearer " + valid, "Bearer " + valid}
		}),
		Entry("a valid token, then garbage", func(_ context.Context, valid string) []string {
			return []string{"Bearer " + valid, "Bearer garbage"}
		}),
		Entry("garbage, then a valid token", func(_ context.Context, valid string) []string {
			return []string{"Bearer garbage", "Bearer " + valid}
		}),
		Entry("the valid tokens of two users", func(ctx context.Context, valid string) []string {
			return []string{"Bearer " + valid, "Bearer " + otherUsersToken(ctx)}
		}),
	)

	// The limits and what each must answer: API Gateway's 10 KiB for the request line and
	// headers and 10 MB for the payload (413), the authorizer's 8 KiB for the token (a bad
	// token: 401, or 403 where the API cannot say 401).
	DescribeTable("refuse a request over a size limit with the status that says why:",
		func(ctx SpecContext, want []int, build func(valid string) (url string, authorization []string, extra http.Header, body string)) {
			v := tokenOf(ctx)
			url, authz, extra, body := build(v.raw)
			r := sizeRequest(ctx, url, authz, extra, body)
			Expect(r.status).To(BeElementOf(want), "HTTP %d (body %.300s)", r.status, r.body)
			expectNoToolRun(r, "an oversized request")
		}, conformance,
		Entry("request headers over 10 KiB: 413 (or 431)", []int{http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge},
			func(valid string) (string, []string, http.Header, string) {
				return fw.Current().MCPURL(), []string{"Bearer " + valid}, http.Header{"X-Padding": {strings.Repeat("p", 11<<10)}}, ""
			}),
		Entry("a URL over 10 KiB: 413 (or 414, 431)", []int{http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge},
			func(valid string) (string, []string, http.Header, string) {
				return fw.Current().MCPURL() + "?pad=" + strings.Repeat("p", 11<<10), []string{"Bearer " + valid}, nil, ""
			}),
		Entry("a body over 10 MB: 413", []int{http.StatusRequestEntityTooLarge},
			func(valid string) (string, []string, http.Header, string) {
				body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"put_object","arguments":{"key":"mcpsso-oversize","content":"` +
					strings.Repeat("a", 10<<20+1) + `"}}}`
				return fw.Current().MCPURL(), []string{"Bearer " + valid}, nil, body
			}),
		Entry("a bearer token over 8 KiB in headers under 10 KiB: 401 (or 403)", []int{http.StatusUnauthorized, http.StatusForbidden},
			func(valid string) (string, []string, http.Header, string) {
				parts := strings.Split(valid, ".")
				return fw.Current().MCPURL(), []string{"Bearer " + parts[0] + "." + parts[1] + strings.Repeat("A", 8<<10) + "." + parts[2]}, nil, ""
			}),
	)
})
