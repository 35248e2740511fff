package mcpssotest_test

import (
	"testing"

	"github.com/mcpsso/mcpsso/mcpssotest"
)

func TestConformOnTheReferenceServer(t *testing.T) {
	s := mcpssotest.Start(t)
	mcpssotest.Conform(t, s)
}
