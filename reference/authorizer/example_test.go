package authorizer_test

import (
	"context"
	"fmt"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

func ExampleSourceIdentity() {
	fmt.Println(authorizer.SourceIdentity("00u8c2d9qkL4mT7xw5d7"))
	fmt.Println(authorizer.SourceIdentity("auth0|65f0c0ffee1234567890abcd"))
	// Output:
	// usr-00u8c2d9qkL4mT7xw5d7
	// usr-_f250c2ea80a49cb82e7384e6e24a26cfa8c3d23b
}

func ExampleParseStoreYAML() {
	store, err := authorizer.ParseStoreYAML([]byte(`
mappings:
  - sub: 00u8c2d9qkL4mT7xw5d7
    roleArn: arn:aws:iam::111122223333:role/quilt-mcp-target-acme
    tags: {tenant: acme}
    limits: {requestsPerMinute: 120, sessionSeconds: 900}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := store.Lookup(context.Background(), "00u8c2d9qkL4mT7xw5d7", "acme")
	fmt.Println(m.RoleARN, m.Tags["tenant"], m.Limits.SessionSeconds, err)
	_, err = store.Lookup(context.Background(), "104592837461029384756", "")
	fmt.Println(err)
	// Output:
	// arn:aws:iam::111122223333:role/quilt-mcp-target-acme acme 900 <nil>
	// no role mapping for subject "104592837461029384756"
}
