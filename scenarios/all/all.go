// Package all links every scenario suite and target into one binary, for `mcpsso conform`.
package all

import (
	_ "github.com/mcpsso/mcpsso/scenarios/bootstrap" // the 401 bootstrap and discovery
	_ "github.com/mcpsso/mcpsso/scenarios/targets"   // embedded, external
)
