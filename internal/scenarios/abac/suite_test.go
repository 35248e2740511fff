package abac

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

func TestABAC(t *testing.T) { fw.RunSuite(t, "abac") }
