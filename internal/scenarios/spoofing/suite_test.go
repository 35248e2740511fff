package spoofing

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

func TestSpoofing(t *testing.T) { fw.RunSuite(t, "spoofing") }
