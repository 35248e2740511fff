package taskrole_test

import (
	"net/http"
	"testing"

	"example.com/gosdk/server"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

// The server with the defect server.UsesTaskRole fails exactly the specs its baseline lists
// (known-failures.txt); a listed spec that passes, a line that matches no spec, or any other
// failure fails the test. Conform runs once per test binary, so each defect has its package.
func TestTheSuitesCatchTheDefect(t *testing.T) {
	s := mcpssotest.Start(t, mcpssotest.WithMCPServer(func(env mcpssotest.Env) http.Handler {
		return server.New(server.Config{AWS: env.AWSConfig(), VerifyContext: env.VerifyContext,
			AllowedOrigins: env.AllowedOrigins, Logger: env.Logger, Defect: server.UsesTaskRole})
	}))
	mcpssotest.Conform(t, s, mcpssotest.WithKnownFailures("known-failures.txt"))
}
