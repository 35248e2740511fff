package clients

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestClients(t *testing.T) { fw.RunSuite(t, "clients") }
