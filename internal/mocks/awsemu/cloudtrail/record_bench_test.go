package cloudtrail

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkAssumeRoleRecord is the CloudTrail part of one AssumeRole: its requestParameters and
// responseElements written and the record added to a store.
func BenchmarkAssumeRoleRecord(b *testing.B) {
	s, err := NewStore()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	ui := UserIdentity{Type: IdentityAssumedRole, PrincipalID: "AROAEXAMPLE:task", ARN: "arn:aws:sts::111122223333:assumed-role/ecsTaskRole/task",
		AccountID: "111122223333", AccessKeyID: "ASIAEXAMPLE"}
	token := strings.Repeat("t", 400)
	b.ReportAllocs()
	for b.Loop() {
		u := ui
		u.SessionContext = &SessionContext{SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLE", ARN: "arn:aws:iam::111122223333:role/ecsTaskRole",
			AccountID: "111122223333", UserName: "ecsTaskRole"}, Attributes: SessionAttributes{CreationDate: now}}
		params := AssumeRoleParameters{RoleArn: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme", RoleSessionName: "usr-alice",
			SourceIdentity: "usr-alice", Tags: []Tag{{Key: "tenant", Value: "acme"}}}
		elems := AssumeRoleResponseElements{Credentials: &ResponseCredentials{AccessKeyID: "ASIAEXAMPLE2", SessionToken: token, Expiration: now.Add(time.Hour)},
			AssumedRoleUser: &AssumedRoleUser{AssumedRoleID: "AROAEXAMPLE2:usr-alice", ARN: "arn:aws:sts::111122223333:assumed-role/quilt-mcp-target-acme/usr-alice"},
			SourceIdentity:  "usr-alice", PackedPolicySize: 3}
		ev := Event{UserIdentity: u, EventTime: now, EventSource: "sts.amazonaws.com", EventName: "AssumeRole", AWSRegion: "us-east-1",
			SourceIPAddress: "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.0", RequestID: "0c9a4b8e-6f7d-4a51-9d3c-2b1e5f6a7c8d",
			Resources:         []Resource{{AccountID: "111122223333", Type: "AWS::IAM::Role", ARN: "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"}},
			RequestParameters: params.JSON(), ResponseElements: elems.JSON(), RecipientAccountID: "111122223333",
			EventCategory: CategoryManagement, ManagementEvent: true}
		if err := s.Add(ev); err != nil {
			b.Fatal(err)
		}
	}
}
