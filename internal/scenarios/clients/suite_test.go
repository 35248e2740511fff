package clients

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

func TestClients(t *testing.T) { fw.RunSuite(t, "clients") }
