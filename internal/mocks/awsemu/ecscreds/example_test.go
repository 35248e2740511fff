package ecscreds_test

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
)

// A program started with Server.Env finds the task role through its SDK's default chain.
func ExampleStart() {
	ctx := context.Background()
	src := ecscreds.SourceFunc(func(context.Context) (ecscreds.Credentials, error) {
		// The emulator returns an STS-issued task-role session here.
		return ecscreds.Credentials{
			AccessKeyID:     "ASIAEXAMPLE",
			SecretAccessKey: "secret",
			SessionToken:    "token",
			Expiration:      time.Now().Add(time.Hour),
			RoleArn:         "arn:aws:iam::111122223333:role/mcp-task-role",
		}, nil
	})
	srv, err := ecscreds.Start(ctx, src)
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	cmd := exec.CommandContext(ctx, "aws", "sts", "get-caller-identity")
	cmd.Env = append(cmd.Environ(), srv.Env()...)
	// cmd.Run() would now print the task role's assumed-role ARN.
	fmt.Println(len(srv.Env()))
	// Output: 2
}
