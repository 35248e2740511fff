package mockidp_test

import (
	"context"
	"fmt"
	"log"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// Start an IdP, mint alice's access token and verify it as an authorizer would.
func ExampleStart() {
	ctx := context.Background()
	idp, err := mockidp.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	token, err := idp.TokenFor(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, idp.IssuerURL())
	if err != nil {
		log.Fatal(err)
	}
	verified, err := provider.Verifier(&oidc.Config{ClientID: mockidp.DefaultAudience, Now: idp.Now}).Verify(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Tenant   string `json:"tenant"`
		TokenUse string `json:"token_use"`
	}
	if err := verified.Claims(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println(verified.Subject, verified.Audience, claims.Tenant, claims.TokenUse)
	// Output: 00u8c2d9qkL4mT7xw5d7 [api://quilt-mcp] acme access
}

// Forge a token whose tenant claim tries to escape its S3 prefix.
func ExampleIdP_Forge() {
	ctx := context.Background()
	idp, err := mockidp.Start(ctx, mockidp.WithSigningAlgorithm(mockidp.ES256))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	for _, f := range []mockidp.Forgery{mockidp.ForgeTenantPathTraversal, mockidp.ForgeAlgNone} {
		if _, err := idp.Forge(ctx, f, "bob"); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: signature valid %v\n", f, f.SignatureValid())
	}
	// Output:
	// tenant-path-traversal: signature valid true
	// alg-none: signature valid false
}
