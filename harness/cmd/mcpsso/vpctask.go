package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
	"github.com/mcpsso/mcpsso/internal/serve"
)

// newVPCTaskEndpointCommand is the container that holds the MCP task's network namespace: the
// MCP server's container joins it, as the containers of a Fargate awsvpc task share one, and
// finds the ECS agent's credentials endpoint at 169.254.170.2 there and nowhere else. Each
// topology has its own namespace, so topologies no longer contend for one fixed subnet.
func newVPCTaskEndpointCommand() *cobra.Command {
	var address, path, upstream string
	cmd := &cobra.Command{
		Use:   "task-endpoint --path /v2/credentials/ID --upstream URL [--address 169.254.170.2]",
		Short: "Serve the task role at 169.254.170.2 inside this network namespace, relayed from an upstream endpoint",
		Long: `Add --address (default 169.254.170.2, the ECS agent's) to the loopback interface of this
container's network namespace (it needs CAP_NET_ADMIN), listen on port 80 there, and answer
GET --path by fetching --upstream, a container-credentials endpoint, with the token in
$AWS_CONTAINER_AUTHORIZATION_TOKEN. Every other path is 404, every other method 405.

Containers that join this namespace (docker run --network container:<this>) then get their
task role exactly as on Fargate: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=--path, no token, and
the SDK's default chain fetches http://169.254.170.2<path>. Nothing outside the namespace can
reach that address. Once listening it prints "ready <URL>"; it logs one JSON line per fetch.`,
		Example: `  AWS_CONTAINER_AUTHORIZATION_TOKEN=... mcpsso vpc task-endpoint \
    --path /v2/credentials/3f2a --upstream http://aws:8170/v2/credentials/mcpsso-task`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ip, err := netip.ParseAddr(address)
			if err != nil || !ip.Is4() {
				return fmt.Errorf("--address %q: must be an IPv4 address", address)
			}
			if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# ") {
				return fmt.Errorf("--path %q: must be an absolute URL path, such as /v2/credentials/ID", path)
			}
			u, err := url.Parse(upstream)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--upstream %q: must be an http(s) URL", upstream)
			}
			token := os.Getenv(ecscreds.EnvAuthorizationToken)
			if token == "" {
				return errors.New(ecscreds.EnvAuthorizationToken + ": required, the token the upstream endpoint asks for")
			}
			if err := addLoopbackAddress(ip); err != nil {
				return failure{err}
			}
			ln, err := serve.Listen("vpc task-endpoint", net.JoinHostPort(ip.String(), "80"))
			if err != nil {
				return failure{err}
			}
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			relay := getRelay(path, upstream, "task-role credentials", func(_, out *http.Request) {
				out.Header.Set("Authorization", token)
			}, log)
			return serveRelay(cmd, ln, relay, path)
		},
	}
	cmd.Flags().StringVar(&address, "address", ecscreds.TaskAddress, "the address to add to lo and listen on (port 80)")
	cmd.Flags().StringVar(&path, "path", "", "the relative URI to serve (required), the task's AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
	cmd.Flags().StringVar(&upstream, "upstream", "", "the container-credentials endpoint to fetch from (required)")
	return cmd
}
