package sts

import (
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// AssumeRoleInput is AssumeRole's parameters after STS's input validation, exported for other
// enforcement points (internal/mocks/awsemu/enforce) that authorize AssumeRole calls served elsewhere.
type AssumeRoleInput struct {
	RoleARN, SessionName, SourceIdentity, ExternalID, Policy string
	DurationSeconds                                          int // 3600 when not given
	DurationGiven                                            bool
	Tags                                                     []iam.Tag
	TransitiveTagKeys                                        []string
	PolicyARNs                                               []string
}

// ParseAssumeRoleInput validates AssumeRole's parameters as the emulator's STS does and
// returns the same errors (ValidationError, InvalidParameterValue, …).
func ParseAssumeRoleInput(p *query.Params) (AssumeRoleInput, error) { return parseAssumeRole(p) }
