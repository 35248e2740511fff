package mockidp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"
)

// A profile's claims are rules: a claim name and where its value comes from. One function
// evaluates them for every profile, so a profile is a list, not code.

type sourceKind int

const (
	srcValue             sourceKind = iota // a fixed value
	srcIssuer                              // the issuer, exactly
	srcSubject                             // the user's subject
	srcAudience                            // the audience: a string, an array for several, absent for none
	srcExpiry                              // now + the token's lifetime
	srcIssuedAt                            // now
	srcAuthTime                            // when the user logged in
	srcRandom                              // 32 random bytes, base64url
	srcUUID                                // a random UUID
	srcOktaJTI                             // "AT." and random characters, as Okta's access-token jti
	srcUTI                                 // Entra's uti: 22 random base64url characters
	srcClientID                            // the client's ID
	srcClientAuth                          // Entra's azpacr/appidacr: "0" public client, "1" client secret
	srcTokenUse                            // "access"
	srcScopeString                         // the granted scopes, space-separated (absent when none)
	srcScopeArray                          // the granted scopes as a JSON array (absent when none)
	srcAPIScopes                           // the API's scopes, space-separated: the granted ones but OpenID's, else the profile's apiScope
	srcEmail                               // the user's email (absent when none)
	srcEmailVerified                       // true when the user has an email
	srcName                                // the user's display name (absent when none)
	srcUsername                            // the user's username
	srcPreferredUsername                   // the email, else the username (Entra's sign-in name)
	srcGroups                              // the user's groups (absent when none)
	srcRealmRoles                          // Keycloak's realm_access: default roles and the user's groups
	srcObjectID                            // a GUID derived from the subject (Entra's oid)
	srcOktaUID                             // an Okta user id (00u…) derived from the subject
	srcAccessType                          // Google's access_type: offline with offline_access, else online
)

type claimSource struct {
	kind  sourceKind
	value any
}

type claimRule struct {
	name string
	from claimSource
}

var (
	fromIssuer            = claimSource{kind: srcIssuer}
	fromSubject           = claimSource{kind: srcSubject}
	fromAudience          = claimSource{kind: srcAudience}
	fromExpiry            = claimSource{kind: srcExpiry}
	fromIssuedAt          = claimSource{kind: srcIssuedAt}
	fromAuthTime          = claimSource{kind: srcAuthTime}
	fromRandom            = claimSource{kind: srcRandom}
	fromUUID              = claimSource{kind: srcUUID}
	fromOktaJTI           = claimSource{kind: srcOktaJTI}
	fromUTI               = claimSource{kind: srcUTI}
	fromClientID          = claimSource{kind: srcClientID}
	fromClientAuth        = claimSource{kind: srcClientAuth}
	fromTokenUse          = claimSource{kind: srcTokenUse}
	fromScopeString       = claimSource{kind: srcScopeString}
	fromScopeArray        = claimSource{kind: srcScopeArray}
	fromAPIScopes         = claimSource{kind: srcAPIScopes}
	fromEmail             = claimSource{kind: srcEmail}
	fromEmailVerified     = claimSource{kind: srcEmailVerified}
	fromName              = claimSource{kind: srcName}
	fromUsername          = claimSource{kind: srcUsername}
	fromPreferredUsername = claimSource{kind: srcPreferredUsername}
	fromGroups            = claimSource{kind: srcGroups}
	fromRealmRoles        = claimSource{kind: srcRealmRoles}
	fromObjectID          = claimSource{kind: srcObjectID}
	fromOktaUID           = claimSource{kind: srcOktaUID}
	fromAccessType        = claimSource{kind: srcAccessType}
)

func fromValue(v any) claimSource { return claimSource{kind: srcValue, value: v} }

// oidcScopes are the scopes of OpenID Connect itself, which name no API.
var oidcScopes = []string{"openid", "profile", "email", "offline_access", "groups"}

// claimContext is what the rules of one token read.
type claimContext struct {
	p        *IdP
	spec     tokenSpec
	audience []string
	now      time.Time
	ttl      time.Duration
}

// value evaluates one source; false leaves the claim out.
func (cc claimContext) value(src claimSource) (any, bool) {
	u, s := cc.spec.user, cc.spec
	switch src.kind {
	case srcValue:
		return src.value, true
	case srcIssuer:
		return cc.p.issuer, true
	case srcSubject:
		return u.Subject, true
	case srcAudience:
		if len(cc.audience) == 0 {
			return nil, false
		}
		return audienceClaim(cc.audience), true
	case srcExpiry:
		return cc.now.Add(cc.ttl).Unix(), true
	case srcIssuedAt:
		return cc.now.Unix(), true
	case srcAuthTime:
		return s.authTime.Unix(), true
	case srcRandom:
		return randomToken(), true
	case srcUUID:
		return randomUUID(), true
	case srcOktaJTI:
		return "AT." + randomToken()[:40], true
	case srcUTI:
		return randomToken()[:22], true
	case srcClientID:
		return s.clientID, true
	case srcClientAuth:
		if c, ok := cc.p.Client(s.clientID); ok && !c.Public() {
			return "1", true
		}
		return "0", true
	case srcTokenUse:
		return TokenUseAccess, true
	case srcScopeString:
		if len(s.scopes) == 0 {
			return nil, false
		}
		return strings.Join(s.scopes, " "), true
	case srcScopeArray:
		if len(s.scopes) == 0 {
			return nil, false
		}
		return slices.Clone(s.scopes), true
	case srcAPIScopes:
		api := slices.DeleteFunc(slices.Clone(s.scopes), func(sc string) bool { return slices.Contains(oidcScopes, sc) })
		if len(api) == 0 {
			return cc.p.profile.apiScope, true
		}
		return strings.Join(api, " "), true
	case srcEmail:
		return u.Email, u.Email != ""
	case srcEmailVerified:
		return true, u.Email != ""
	case srcName:
		return u.Name, u.Name != ""
	case srcUsername:
		return u.Username, true
	case srcPreferredUsername:
		if u.Email != "" {
			return u.Email, true
		}
		return u.Username, true
	case srcGroups:
		return slices.Clone(u.Groups), len(u.Groups) > 0
	case srcRealmRoles:
		roles := append([]string{"default-roles-mcpsso", "offline_access", "uma_authorization"}, u.Groups...)
		return map[string]any{"roles": roles}, true
	case srcObjectID:
		return derivedGUID(u.Subject), true
	case srcOktaUID:
		return oktaUID(u.Subject), true
	case srcAccessType:
		if slices.Contains(s.scopes, "offline_access") {
			return "offline", true
		}
		return "online", true
	}
	panic(fmt.Sprintf("mockidp: claim source %d has no value", src.kind))
}

// apply sets each rule's claim in c.
func (cc claimContext) apply(c map[string]any, rules []claimRule) {
	for _, r := range rules {
		if v, ok := cc.value(r.from); ok {
			c[r.name] = v
		}
	}
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// derivedGUID is a stable GUID for a subject, so a user keeps one object ID across tokens.
func derivedGUID(subject string) string {
	sum := sha256.Sum256([]byte("mcpsso oid " + subject))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// oktaUID is a stable Okta-style user id (00u and 17 letters and digits) for a subject.
func oktaUID(subject string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte("mcpsso uid " + subject))
	out := []byte("00u")
	for _, b := range sum[:17] {
		out = append(out, alphabet[int(b)%len(alphabet)])
	}
	return string(out)
}

// randomInt is a uniform random number in [0, n).
func randomInt(n int64) int64 { return mrand.Int64N(n) }
