package bootstrap

import (
	"testing"

	fw "github.com/mcpsso/mcpsso/internal/scenarios/framework"
	_ "github.com/mcpsso/mcpsso/internal/scenarios/targets"
)

func TestBootstrap(t *testing.T) { fw.RunSuite(t, "bootstrap") }
