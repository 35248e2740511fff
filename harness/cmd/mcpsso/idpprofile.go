package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// idpProfileFlag is the --idp-profile flag of every command that runs the mock IdP.
const idpProfileFlag = "idp-profile"

// idpProfileHelp explains --idp-profile in a command's help: what a profile is and which there
// are.
func idpProfileHelp() string {
	var b strings.Builder
	b.WriteString(`--idp-profile makes the mock IdP issue tokens as a real provider does: the issuer's form
(path, trailing slash), the discovery documents and their fields, the keys, the access token's
header, claims and lifetime, what it does with resource and audience, registration, the device
grant and refresh, and the provider's own errors for what it refuses
(docs/components/mock-idp.md has the table, with the sources). Profiles:
`)
	for _, name := range mockidp.ProfileNames() {
		p, _ := mockidp.LookupProfile(name)
		fmt.Fprintf(&b, "  %-9s %s\n", name, p.Provider)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// addIdPProfileFlag adds --idp-profile to cmd.
func addIdPProfileFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, idpProfileFlag, mockidp.ProfileGeneric, "the provider the mock IdP imitates: "+strings.Join(mockidp.ProfileNames(), ", "))
}

// checkIdPProfile refuses an unknown profile, naming the ones there are.
func checkIdPProfile(name string) error {
	if _, err := mockidp.LookupProfile(name); err != nil {
		return fmt.Errorf("--%s: %w", idpProfileFlag, err)
	}
	return nil
}
