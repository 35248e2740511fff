package framework

import (
	"context"
	"os"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// RunSuite is the TestXxx body of one suite package under `go test`: it runs the package's
// specs against the target named by MCPSSO_TARGET (default "embedded") with the profile in
// MCPSSO_PROFILE (default "reference"), built once before the specs and closed after.
func RunSuite(t *testing.T, description string) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	name := os.Getenv("MCPSSO_TARGET")
	if name == "" {
		name = "embedded"
	}
	profile := os.Getenv("MCPSSO_PROFILE")
	if profile == "" {
		profile = "reference"
	}
	target, err := NewTarget(context.Background(), name, Options{Profile: profile, File: os.Getenv("MCPSSO_TARGET_FILE")})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := CheckProbes(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	SetCurrent(target)
	ginkgo.RunSpecs(t, description)
}
