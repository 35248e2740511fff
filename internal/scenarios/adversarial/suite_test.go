package adversarial

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

func TestAdversarial(t *testing.T) { fw.RunSuite(t, "adversarial") }
