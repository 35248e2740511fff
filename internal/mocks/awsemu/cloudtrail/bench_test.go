package cloudtrail

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkStoreRecord is the cost of recording one AssumeRole event, as the emulator does on
// every request, after 1k, 100k and 1M events were already recorded in a store of the default
// capacity (100 000): the cost must not grow with the events recorded before.
func BenchmarkStoreRecord(b *testing.B) {
	ev := Event{
		UserIdentity: UserIdentity{Type: IdentityAssumedRole, PrincipalID: "AROAEXAMPLE:task", ARN: "arn:aws:sts::111111111111:assumed-role/ecsTaskRole/task",
			AccountID: "111111111111", AccessKeyID: "ASIAEXAMPLE", SessionContext: &SessionContext{
				SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLE", ARN: "arn:aws:iam::111111111111:role/ecsTaskRole", AccountID: "111111111111", UserName: "ecsTaskRole"},
				Attributes:    SessionAttributes{CreationDate: time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC)}}},
		EventTime: time.Date(2026, 12, 7, 3, 4, 6, 0, time.UTC), EventSource: "sts.amazonaws.com", EventName: "AssumeRole",
		SourceIPAddress: "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.0",
		RequestParameters: AssumeRoleParameters{RoleArn: "arn:aws:iam::111111111111:role/quilt-mcp-target-acme", RoleSessionName: "usr-alice",
			SourceIdentity: "usr-alice", Tags: []Tag{{Key: "tenant", Value: "acme"}}}.JSON(),
		Resources: []Resource{{AccountID: "111111111111", Type: "AWS::IAM::Role", ARN: "arn:aws:iam::111111111111:role/quilt-mcp-target-acme"}},
	}
	for _, recorded := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("recorded=%d", recorded), func(b *testing.B) {
			s, err := NewStore()
			if err != nil {
				b.Fatal(err)
			}
			for range recorded {
				if _, err := s.Record(ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Record(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
