package observability

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

func TestObservability(t *testing.T) { fw.RunSuite(t, "observability") }
