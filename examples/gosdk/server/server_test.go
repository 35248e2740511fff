package server_test

import (
	"net/http"
	"testing"

	"example.com/gosdk/server"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

func TestTheServerConforms(t *testing.T) {
	s := mcpssotest.Start(t, mcpssotest.WithMCPServer(func(env mcpssotest.Env) http.Handler {
		return server.New(server.Config{AWS: env.AWSConfig(), VerifyContext: env.VerifyContext,
			AllowedOrigins: env.AllowedOrigins, Logger: env.Logger})
	}))
	mcpssotest.Conform(t, s)
}
