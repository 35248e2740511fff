package observability

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestObservability(t *testing.T) { fw.RunSuite(t, "observability") }
