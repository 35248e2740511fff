package authorizer

// Check is one check a weakened-authorizer test turns off (weakened_test.go).
type Check = checkSet

// The checks a test can turn off, one at a time.
const (
	CheckAudienceRequired = checkAudienceRequired
	CheckTypeClaim        = checkTypeClaim
	CheckClientID         = checkClientID
	CheckIssuerForm       = checkIssuerForm
	CheckVersion          = checkVersion
)

// WithoutCheck builds the authorizer with one check turned off: the mistake a spec must catch.
// Only tests can: no exported option reaches the set.
func WithoutCheck(c Check) Option {
	return func(cfg *config) error {
		cfg.skipped |= c
		return nil
	}
}
