package moto_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
)

func TestWithAccountIsTheAccountMotoActsIn(t *testing.T) {
	m := moto.StartForTest(t, moto.WithAccount("111122223333"))
	if !strings.HasPrefix(m.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("endpoint %s: want 127.0.0.1 by default", m.Endpoint())
	}
	c := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	out, err := c.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Account); got != "111122223333" {
		t.Fatalf("GetCallerIdentity says account %s, want 111122223333", got)
	}
}

func TestOptionsRejectBadInput(t *testing.T) {
	for name, o := range map[string]moto.Option{"short account": moto.WithAccount("1234"), "letters": moto.WithAccount("12345678901a"),
		"host name": moto.WithHost("localhost"), "empty host": moto.WithHost("")} {
		if _, err := moto.Start(t.Context(), o); err == nil || err == moto.ErrNotInstalled {
			t.Errorf("%s: Start did not refuse the option: %v", name, err)
		}
	}
}
