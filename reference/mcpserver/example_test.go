package mcpserver_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// The server as deployed: the task role's AWS configuration (on ECS, config.LoadDefaultConfig
// finds the container-credentials endpoint), the context proof secret the authorizer also has
// (ECS injects it from Secrets Manager as an environment variable), JSON logs, and the
// proxy's public host allowed. A request that did not come through the gateway — here, one
// with forged identity headers and no proof — is refused before any AWS call.
func ExampleNew() {
	// On ECS: contextproof.ParseSecret(os.Getenv(mcpserver.EnvContextProofSecret)).
	secret, err := contextproof.ParseSecret(contextproof.NewSecret())
	if err != nil {
		log.Fatal(err)
	}
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	h, err := mcpserver.New(awsCfg,
		mcpserver.WithContextProofSecret(secret),
		mcpserver.WithAllowedHosts("mcp.example.com"),
		mcpserver.WithSessionCache(true),
		mcpserver.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(h.Path(), h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+h.Path(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Host = "mcp.example.com"
	req.Header.Set("X-Decided-Role", "arn:aws:iam::111122223333:role/quilt-mcp-target-globex")
	req.Header.Set("X-Source-Identity", "usr-mallory")
	req.Header.Set("X-Session-Tags", `[{"Key":"tenant","Value":"globex"}]`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 403
}

// Start listens on its own and names its endpoints.
func ExampleStart() {
	secret, err := contextproof.ParseSecret(contextproof.NewSecret()) // from a file or Secrets Manager
	if err != nil {
		log.Fatal(err)
	}
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	s, err := mcpserver.Start(context.Background(), awsCfg, mcpserver.WithContextProofSecret(secret),
		mcpserver.WithAddr("127.0.0.1:0"), mcpserver.WithMetricsAddr("127.0.0.1:0"),
		mcpserver.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println(strings.HasSuffix(s.URL(), "/mcp"), strings.HasSuffix(s.MetricsURL(), "/metrics"))
	// Output: true true
}

// ParseIdentity is the server's whole trust decision once the proof holds: the gateway's
// headers, strictly checked.
func ExampleParseIdentity() {
	h := http.Header{}
	h.Set("x-decided-role", "arn:aws:iam::111122223333:role/quilt-mcp-target-acme")
	h.Set("x-source-identity", "usr-00u8c2d9")
	h.Set("x-session-tags", `{"tenant":"acme"}`)
	id, err := mcpserver.ParseIdentity(h)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.Tenant, id.SourceIdentity)
	// Output: acme usr-00u8c2d9
}
