package transport

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestTransport(t *testing.T) { fw.RunSuite(t, "transport") }
