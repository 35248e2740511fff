package awsemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// GetRole's RoleLastUsed is empty until the role is assumed, then says when and in which region.
func TestRoleLastUsedFollowsAssumeRole(t *testing.T) {
	s := startEmulator(t)
	admin := adminCfg(t, s, acct)
	c := iam.NewFromConfig(admin)
	arn := createRole(t, c, "used-role", accountTrust(acct), nil)
	before := must(c.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("used-role")})).Role.RoleLastUsed
	if before == nil || before.LastUsedDate != nil || before.Region != nil {
		t.Fatalf("RoleLastUsed of a role never used: %+v, want an empty element", before)
	}
	mustAssume(t, admin, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("session")})
	after := must(c.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("used-role")})).Role.RoleLastUsed
	if after == nil || after.LastUsedDate == nil || aws.ToString(after.Region) != "us-east-1" {
		t.Fatalf("RoleLastUsed after AssumeRole: %+v", after)
	}
}
