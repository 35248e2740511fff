// Package all links every scenario suite and target into one binary, for `mcpsso conform`.
package all

import (
	_ "github.com/mcpsso/mcpsso/scenarios/abac"          // tenant isolation, cross-account spoofing
	_ "github.com/mcpsso/mcpsso/scenarios/adversarial"   // attacks refused: a regression table
	_ "github.com/mcpsso/mcpsso/scenarios/bootstrap"     // the 401 bootstrap and discovery
	_ "github.com/mcpsso/mcpsso/scenarios/clients"       // real MCP clients sign in and work
	_ "github.com/mcpsso/mcpsso/scenarios/observability" // CloudTrail, decision logs, metrics
	_ "github.com/mcpsso/mcpsso/scenarios/spoofing"      // client-sent identity headers
	_ "github.com/mcpsso/mcpsso/scenarios/targets"       // embedded, external
	_ "github.com/mcpsso/mcpsso/scenarios/transport"     // Origin, protocol versions, sessions
	_ "github.com/mcpsso/mcpsso/scenarios/trust"         // trust policies at STS and through MCP
)
