package sts

import (
	"github.com/mcpsso/mcpsso/mocks/aws/iam"
	"github.com/mcpsso/mcpsso/mocks/aws/query"
)

// AssumeRoleInput is AssumeRole's parameters after STS's input validation, exported for other
// enforcement points (mocks/aws/enforce) that authorize AssumeRole calls served elsewhere.
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
func ParseAssumeRoleInput(p *query.Params) (AssumeRoleInput, error) {
	in, err := parseAssumeRole(p)
	if err != nil {
		return AssumeRoleInput{}, err
	}
	return AssumeRoleInput{RoleARN: in.roleARN, SessionName: in.sessionName, SourceIdentity: in.sourceIdentity,
		ExternalID: in.externalID, Policy: in.policy, DurationSeconds: in.duration, DurationGiven: in.durationGiven,
		Tags: in.tags, TransitiveTagKeys: in.transitive, PolicyARNs: in.policyARNs}, nil
}
