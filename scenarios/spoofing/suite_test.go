package spoofing

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestSpoofing(t *testing.T) { fw.RunSuite(t, "spoofing") }
