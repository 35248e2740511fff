package server_test

import (
	"testing"

	"example.com/mcpgo/servertest"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

func TestTheServerConforms(t *testing.T) {
	s := mcpssotest.Start(t, servertest.Server(""))
	mcpssotest.Conform(t, s, mcpssotest.WithProbes(servertest.Probes))
}
