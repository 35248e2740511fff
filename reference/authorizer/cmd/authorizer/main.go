// Command authorizer is the reference Lambda authorizer as a Lambda function for the
// provided.al2023 runtime (arm64 or amd64). It reads its configuration from MCPSSO_AUTHORIZER_*
// environment variables (see authorizer.ConfigFromEnv) and serves the HTTP API, REST REQUEST or
// REST TOKEN authorizer that MCPSSO_AUTHORIZER_MODE names. Build it with
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./reference/authorizer/cmd/authorizer
//
// and deploy bootstrap zipped as the function's code.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mcpsso/mcpsso/reference/authorizer"
)

func main() {
	if err := run(context.Background()); err != nil {
		// The init error is what CloudWatch shows for a function that cannot start; every
		// request then fails (500), never allowed.
		fmt.Fprintf(os.Stderr, `{"level":"ERROR","msg":"authorizer cannot start","error":%q}`+"\n", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := authorizer.ConfigFromEnv(os.Environ())
	if err != nil {
		return err
	}
	opts, err := cfg.Options(func(table string) (authorizer.RoleStore, error) {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration for the DynamoDB role store: %w", err)
		}
		return authorizer.NewDynamoDBStore(dynamodb.NewFromConfig(awsCfg), table)
	})
	if err != nil {
		return err
	}
	a, err := authorizer.New(ctx, opts...)
	if err != nil {
		return err
	}
	switch cfg.Mode {
	case authorizer.ModeREST:
		lambda.Start(a.REST)
	case authorizer.ModeToken:
		lambda.Start(a.Token)
	default:
		lambda.Start(a.HTTPAPI)
	}
	return nil
}
