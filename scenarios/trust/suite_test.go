package trust

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestTrust(t *testing.T) { fw.RunSuite(t, "trust") }
