package stack

import (
	"net/http"
	"time"

	"github.com/mcpsso/mcpsso/reference/contextproof"
	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// mcpProofOption is how the MCP server treats the decided headers: in the reference profile
// it believes them only with the authorizer's context proof; the seed profile is the tutorial,
// whose server believes any caller that reaches its port.
func (s *Stack) mcpProofOption() mcpserver.Option {
	if !s.proven {
		return mcpserver.WithoutContextProof()
	}
	return mcpserver.WithContextProofSecret(s.proofSecret)
}

// ProveContext adds to h the context proof the deployment's authorizer would make for a
// request of method to path with h's decided headers, signed with the stack's secret: what the
// suites use to reach the MCP server directly with a decided context of their choosing.
func (s *Stack) ProveContext(method, path string, h http.Header) error {
	return SignContext(s.proofSecret, method, path, h)
}

// SignContext sets h's x-context-proof for a request of method to path with h's decided
// headers, as the reference authorizer signs them with secret.
func SignContext(secret []byte, method, path string, h http.Header) error {
	k, err := contextproof.NewKey(secret)
	if err != nil {
		return err
	}
	p, err := k.Sign(contextproof.Context{Method: method, Path: path, DecidedRole: h.Get(mcpserver.HeaderDecidedRole),
		SourceIdentity: h.Get(mcpserver.HeaderSourceIdentity), SessionTags: h.Get(mcpserver.HeaderSessionTags), Limits: h.Get(mcpserver.HeaderLimits)},
		contextproof.NewNonce(), time.Now())
	if err != nil {
		return err
	}
	h.Set(mcpserver.HeaderContextProof, p)
	return nil
}
