package server_test

import (
	"net/http"
	"testing"

	"example.com/gosdk/server"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

// newServer is the server as the stack runs it: the task role from ECS, the gateway's headers
// proven by the authorizer.
func newServer(defect server.Defect) func(mcpssotest.Env) http.Handler {
	return func(env mcpssotest.Env) http.Handler {
		return server.New(server.Config{AWS: env.AWSConfig(), VerifyContext: env.VerifyContext,
			AllowedOrigins: env.AllowedOrigins, Logger: env.Logger, Defect: defect})
	}
}

func TestTheServerConforms(t *testing.T) {
	s := mcpssotest.Start(t, mcpssotest.WithMCPServer(newServer("")))
	mcpssotest.Conform(t, s)
}
