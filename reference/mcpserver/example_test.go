package mcpserver_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// The server as deployed: the task role from the SDK default chain (on ECS, the
// container-credentials endpoint), the context proof secret the authorizer also has (ECS
// injects it from Secrets Manager as an environment variable), JSON logs, and the proxy's
// public host allowed.
func ExampleNew() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	secret, err := contextproof.ParseSecret(os.Getenv(mcpserver.EnvContextProofSecret))
	if err != nil {
		log.Fatal(err)
	}
	h, err := mcpserver.New(awsCfg,
		mcpserver.WithContextProofSecret(secret),
		mcpserver.WithAllowedHosts("mcp.example.com"),
		mcpserver.WithSessionCache(true),
		mcpserver.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(h.Path(), h)
	go func() { log.Fatal(http.ListenAndServe("127.0.0.1:9090", h.Metrics())) }()
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Start listens on its own and names its endpoints.
func ExampleStart() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	raw, err := os.ReadFile("/run/secrets/context-proof")
	if err != nil {
		log.Fatal(err)
	}
	secret, err := contextproof.ParseSecret(string(raw)) // drops the file's final newline
	if err != nil {
		log.Fatal(err)
	}
	s, err := mcpserver.Start(ctx, awsCfg, mcpserver.WithContextProofSecret(secret),
		mcpserver.WithAddr("127.0.0.1:8080"), mcpserver.WithMetricsAddr("127.0.0.1:9090"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	log.Printf("MCP at %s, metrics at %s", s.URL(), s.MetricsURL())
}

// ParseIdentity is the server's whole trust decision: the gateway's headers, strictly checked.
func ExampleParseIdentity() {
	h := http.Header{}
	h.Set("x-decided-role", "arn:aws:iam::111122223333:role/quilt-mcp-target-acme")
	h.Set("x-source-identity", "usr-00u8c2d9")
	h.Set("x-session-tags", `{"tenant":"acme"}`)
	id, err := mcpserver.ParseIdentity(h)
	if err != nil {
		log.Fatal(err)
	}
	log.Println(id.Tenant, id.Limits.SessionSeconds)
}
