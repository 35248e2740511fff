package adversarial

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestAdversarial(t *testing.T) { fw.RunSuite(t, "adversarial") }
