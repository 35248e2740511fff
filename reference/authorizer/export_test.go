package authorizer

import (
	"encoding/json"
	"strings"
)

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

// WithScopesReadAsAString builds the authorizer with the classic mistake of reading the scope
// claim as a string: a string is split at spaces, and so is a list's JSON text (Okta's scp),
// which yields no scope the IdP granted.
func WithScopesReadAsAString() Option {
	return func(cfg *config) error {
		cfg.scopesOf = func(c claimSet, claim string) ([]string, error) {
			if claim == "" {
				claim = "scope"
			}
			raw, ok := c[claim]
			if !ok {
				return nil, nil
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			return strings.Fields(s), nil
		}
		return nil
	}
}
