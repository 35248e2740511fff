package cloudtrail_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
)

// Record what the emulator decided, then read it back with the real CloudTrail client.
func ExampleHandler() {
	store, _ := cloudtrail.NewStore(cloudtrail.WithSink(io.Discard)) // e.g. os.Stderr: NDJSON for the logs
	_, _ = store.Record(cloudtrail.Event{
		EventTime:   time.Date(2026, 11, 26, 3, 4, 5, 0, time.UTC),
		EventSource: "sts.amazonaws.com",
		EventName:   "AssumeRole",
		UserIdentity: cloudtrail.UserIdentity{
			Type: cloudtrail.IdentityAssumedRole, AccountID: "111122223333", AccessKeyID: "ASIATASK",
			ARN: "arn:aws:sts::111122223333:assumed-role/mcp-task-role/ecs-task-1",
		},
		ErrorCode:    "AccessDenied",
		ErrorMessage: "not authorized to perform: sts:SetSourceIdentity",
		RequestParameters: cloudtrail.AssumeRoleParameters{
			RoleArn: "arn:aws:iam::111122223333:role/tenant-acme", RoleSessionName: "usr-alice", SourceIdentity: "usr-alice",
		}.JSON(),
	})

	// In the emulator the router authenticates the request before dispatching it here.
	srv := httptest.NewServer(cloudtrail.NewHandler(store))
	defer srv.Close()
	client := sdk.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *sdk.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := client.LookupEvents(context.Background(), &sdk.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("ecs-task-1")}},
	})
	if err != nil {
		panic(err)
	}
	for _, e := range out.Events {
		fmt.Println(aws.ToString(e.EventName), aws.ToString(e.Username), aws.ToTime(e.EventTime).UTC().Format(time.RFC3339))
	}
	// Output: AssumeRole ecs-task-1 2026-11-26T03:04:05Z
}
