package awsemu_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
)

// Start the emulator and call it with the AWS SDK as the default account's administrator:
// GetCallerIdentity answers as STS does, and assuming a role that does not exist is
// AccessDenied, as on AWS.
func ExampleStart() {
	ctx := context.Background()
	emu, err := awsemu.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	admin, err := emu.AdminCredentials(awsemu.DefaultAccount)
	if err != nil {
		log.Fatal(err)
	}
	client := sts.New(sts.Options{Region: emu.Region(), BaseEndpoint: aws.String(emu.Endpoint()),
		Credentials: credentials.StaticCredentialsProvider{Value: admin}})

	me, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(me.Arn))

	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111122223333:role/no-such-role"), RoleSessionName: aws.String("demo")})
	var ae smithy.APIError
	if errors.As(err, &ae) {
		fmt.Println(ae.ErrorCode())
	}
	// Output:
	// arn:aws:iam::111122223333:user/admin
	// AccessDenied
}
