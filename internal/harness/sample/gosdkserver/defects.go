package gosdkserver

import (
	"fmt"
	"slices"
	"strings"
)

// A Defect is one deliberate mistake the server can be started with, each a mistake real
// deployments of the pattern make, so that the scenario suites can be shown to catch it and
// only it. The zero Defect is the correct server.
type Defect string

// The defects.
const (
	// NoDefect is the correct server.
	NoDefect Defect = ""
	// TenantFromURI picks the tenant whose role it assumes from the bucket a tool's URI or
	// bucket argument names (quilt-tenant-<tenant>), not from the token's tenant claim: a
	// confused deputy that lets any user reach any tenant's bucket by naming it.
	TenantFromURI Defect = "tenant-from-uri"
	// TrustsForwardedIdentity takes the user from an X-Forwarded-User request header when one is
	// sent, as if a proxy in front (oauth2-proxy, say) had signed the user in, over the verified
	// token's: any client can then act, and be recorded in CloudTrail, under another user's
	// name (source identity usr-<that user>).
	TrustsForwardedIdentity Defect = "trusts-forwarded-identity"
	// SkipsSignatureCheck verifies tokens with go-oidc's InsecureSkipSignatureCheck (meant for
	// ID tokens fresh from the token endpoint of an IdP that signs with "none"): a token that
	// is unsigned or signed with anyone's key is accepted if its claims look right.
	SkipsSignatureCheck Defect = "skips-signature-check"
	// SkipsSourceIdentity assumes the tenant's role without a SourceIdentity, so CloudTrail
	// cannot tell which user a session acted for. The deployment that runs it needs a trust
	// policy that does not require one (internal/harness/sample deploys such a policy for it).
	SkipsSourceIdentity Defect = "skips-source-identity"
	// OmitsResourceMetadata answers 401 with a bare Bearer challenge (a realm, as the tutorial
	// does) that names no resource_metadata, so an MCP client has nowhere to start signing in.
	// The auth tier (conform --tier auth) catches it without a tool.
	OmitsResourceMetadata Defect = "omits-resource-metadata"
)

// Defects lists every defect, in the order the docs give them.
var Defects = []Defect{TenantFromURI, TrustsForwardedIdentity, SkipsSignatureCheck, SkipsSourceIdentity, OmitsResourceMetadata}

// ParseDefect reads a defect by name; "" and "none" are the correct server.
func ParseDefect(name string) (Defect, error) {
	if name == "" || name == "none" {
		return NoDefect, nil
	}
	if d := Defect(name); slices.Contains(Defects, d) {
		return d, nil
	}
	names := make([]string, len(Defects))
	for i, d := range Defects {
		names[i] = string(d)
	}
	return NoDefect, fmt.Errorf("defect %q: want none or one of %s", name, strings.Join(names, ", "))
}

func (d Defect) String() string {
	if d == NoDefect {
		return "none"
	}
	return string(d)
}
