package containers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/mcpsso/mcpsso/internal/harness/stack"
)

// AliasDirect is the relay to the MCP server that stands for another service in the VPC: on
// the internal network beside the MCP server (and on the public one, with a port published on
// the host's loopback), it forwards every request to http://mcp:8080 as it comes, Host
// rewritten to mcp:8080 and nothing added — what an SSRF in any service of the VPC, or any
// process that can reach the task, could send. Started on first use (MCPDirectURL).
const AliasDirect = "direct"

const directRelayPort = "8090/tcp"

// MCPDirectURL is the MCP endpoint as the relay (AliasDirect) reaches it, bypassing the
// gateway: the suites' direct-mcp specs send it forged decided headers, which a correct MCP
// server refuses (the reference one without the authorizer's context proof). The relay starts
// on the first call.
func (t *Topology) MCPDirectURL(ctx context.Context) (string, error) {
	t.directMu.Lock()
	defer t.directMu.Unlock()
	if t.directURL != "" {
		return t.directURL, nil
	}
	host, err := freePort()
	if err != nil {
		return "", err
	}
	if _, err := t.start(ctx, settings{timeout: t.startup}, AliasDirect,
		[]string{"vpc", "relay", "--addr", "0.0.0.0:8090", "--upstream", "http://" + AliasMCP + ":" + mcpPort},
		readyLine(),
		network.WithNetwork([]string{AliasDirect}, t.public),
		network.WithNetwork([]string{AliasDirect}, t.internal),
		testcontainers.WithExposedPorts(directRelayPort), publishOn(directRelayPort, host)); err != nil {
		return "", err
	}
	t.directURL = "http://127.0.0.1:" + strconv.Itoa(host) + "/mcp"
	return t.directURL, nil
}

// ProveContext sets h's x-context-proof as the topology's authorizer would sign a request of
// method to path with h's decided headers (the secret is the topology's own), for a request
// the suites send the MCP server directly.
func (t *Topology) ProveContext(method, path string, h http.Header) error {
	return stack.SignContext([]byte(t.proofSecret), method, path, h)
}
