package bootstrap

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/scenarios/targets"
)

func TestBootstrap(t *testing.T) { fw.RunSuite(t, "bootstrap") }
