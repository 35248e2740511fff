package abac

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestABAC(t *testing.T) { fw.RunSuite(t, "abac") }
