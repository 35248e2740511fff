package tenanttag_test

import (
	"testing"

	"example.com/mcpgo/server"
	"example.com/mcpgo/servertest"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

// The server with the defect server.IgnoresTenantTag fails exactly the specs its baseline lists
// (known-failures.txt); a listed spec that passes, a line that matches no spec, or any other
// failure fails the test. Conform runs once per test binary, so each defect has its package.
func TestTheSuitesCatchTheDefect(t *testing.T) {
	s := mcpssotest.Start(t, servertest.Server(server.IgnoresTenantTag))
	mcpssotest.Conform(t, s, mcpssotest.WithProbes(servertest.Probes), mcpssotest.WithKnownFailures("known-failures.txt"))
}
