package framework

import (
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// The words of the Target contract that the kit's mocks define. Suites import only this
// package (docs/architecture.md), so the types and names they need from the mocks are
// re-exported here; these two imports are the rule's named exceptions for framework.

// CloudTrail records, as Target.CloudTrail returns them (CapCloudTrail): the kit's CloudTrail
// record type is the AWS record format, whoever serves it.
type (
	// TrailFilter selects records (event name, source, time range, …).
	TrailFilter = cloudtrail.Filter
	// TrailEvent is one CloudTrail record.
	TrailEvent = cloudtrail.Event
	// AssumeRoleParameters are the requestParameters of an AssumeRole record.
	AssumeRoleParameters = cloudtrail.AssumeRoleParameters
)

// Forgery names a bad token Target.Forge mints (CapForge); pass its String to Forge. The
// forgeries are the mock IdP's: see mockidp.Forgery for what each one breaks.
type Forgery = mockidp.Forgery

// The forgeries.
const (
	ForgeExpired             = mockidp.ForgeExpired
	ForgeNotYetValid         = mockidp.ForgeNotYetValid
	ForgeWrongIssuer         = mockidp.ForgeWrongIssuer
	ForgeWrongAudience       = mockidp.ForgeWrongAudience
	ForgeAlgNone             = mockidp.ForgeAlgNone
	ForgeHS256WithPublicKey  = mockidp.ForgeHS256WithPublicKey
	ForgeUnknownKeyID        = mockidp.ForgeUnknownKeyID
	ForgeUntrustedKey        = mockidp.ForgeUntrustedKey
	ForgeTamperedPayload     = mockidp.ForgeTamperedPayload
	ForgeMissingSubject      = mockidp.ForgeMissingSubject
	ForgeIDToken             = mockidp.ForgeIDToken
	ForgeRefreshToken        = mockidp.ForgeRefreshToken
	ForgeTenantWildcard      = mockidp.ForgeTenantWildcard
	ForgeTenantPathTraversal = mockidp.ForgeTenantPathTraversal
	ForgeTenantWithSpaces    = mockidp.ForgeTenantWithSpaces
	ForgeTenantTooLong       = mockidp.ForgeTenantTooLong
	ForgeTenantNonASCII      = mockidp.ForgeTenantNonASCII
	ForgeOversized           = mockidp.ForgeOversized
)

// Forgeries lists every forgery, in declaration order.
func Forgeries() []Forgery { return mockidp.Forgeries() }

// PublicClientID is the public OAuth client a spec signs in as on the kit's mock IdP
// (CapSignIn): device grant, and authorization code with PKCE for any loopback redirect URI.
const PublicClientID = mockidp.PublicClientID
