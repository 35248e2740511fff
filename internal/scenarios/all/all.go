// Package all links every scenario suite and target into one binary, for `mcpsso conform`.
package all

import (
	_ "github.com/mcpsso/mcpsso/internal/scenarios/abac"          // tenant isolation, cross-account spoofing
	_ "github.com/mcpsso/mcpsso/internal/scenarios/adversarial"   // attacks refused: a regression table
	_ "github.com/mcpsso/mcpsso/internal/scenarios/bootstrap"     // the 401 bootstrap and discovery
	_ "github.com/mcpsso/mcpsso/internal/scenarios/clients"       // real MCP clients sign in and work
	_ "github.com/mcpsso/mcpsso/internal/scenarios/observability" // CloudTrail, decision logs, metrics
	_ "github.com/mcpsso/mcpsso/internal/scenarios/spoofing"      // client-sent identity headers
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"       // embedded, external
	_ "github.com/mcpsso/mcpsso/internal/scenarios/transport"     // Origin, protocol versions, sessions
	_ "github.com/mcpsso/mcpsso/internal/scenarios/trust"         // trust policies at STS and through MCP
)
