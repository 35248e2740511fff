package authorizer_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/moto"
	"github.com/mcpsso/mcpsso/reference/authorizer"
)

const table = "mcpsso-role-mappings"

func dynamoClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func m(kv map[string]types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: kv}
}

// createTable creates the documented layout and puts the items.
func createTable(t *testing.T, c *dynamodb.Client, items ...map[string]types.AttributeValue) {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("sub"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("tenant"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("sub"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("tenant"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTheDynamoDBStoreAgainstMoto runs the store on moto_server's DynamoDB: lookups, strict
// item decoding, a decision end to end, and the store going down.
func TestTheDynamoDBStoreAgainstMoto(t *testing.T) {
	srv := moto.StartForTest(t) // skips without moto_server, fails instead under MCPSSO_REQUIRE_MOTO=1
	// The last subtest stops moto early; Close is idempotent, so the cleanup finds it stopped.
	stop := srv.Close
	client := dynamoClient(srv.Endpoint())
	acme := "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"
	globex := "arn:aws:iam::111122223333:role/quilt-mcp-target-globex"
	createTable(t, client,
		map[string]types.AttributeValue{"sub": s("00u8c2d9qkL4mT7xw5d7"), "tenant": s("*"), "roleArn": s(acme),
			"tags":   m(map[string]types.AttributeValue{"tenant": s("acme")}),
			"limits": m(map[string]types.AttributeValue{"requestsPerMinute": n("120"), "sessionSeconds": n("900")})},
		map[string]types.AttributeValue{"sub": s("multi"), "tenant": s("globex"), "roleArn": s(globex),
			"tags": m(map[string]types.AttributeValue{"tenant": s("globex")})},
		map[string]types.AttributeValue{"sub": s("multi"), "tenant": s("*"), "roleArn": s(acme)},
		map[string]types.AttributeValue{"sub": s("extra-attr"), "tenant": s("*"), "roleArn": s(acme), "note": s("hi")},
		map[string]types.AttributeValue{"sub": s("numeric-role"), "tenant": s("*"), "roleArn": n("5")},
		map[string]types.AttributeValue{"sub": s("bad-limit"), "tenant": s("*"), "roleArn": s(acme),
			"limits": m(map[string]types.AttributeValue{"sessionSeconds": n("60")})},
		map[string]types.AttributeValue{"sub": s("bad-tag"), "tenant": s("*"), "roleArn": s(acme),
			"tags": m(map[string]types.AttributeValue{"tenant": n("1")})},
	)
	store, err := authorizer.NewDynamoDBStore(client, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lookups := []struct {
		name, sub, tenant, role, limits string
		wantErr                         error
		errText                         string
	}{
		{"the any-tenant item answers a token without a tenant", "00u8c2d9qkL4mT7xw5d7", "", acme, "120/900", nil, ""},
		{"the any-tenant item answers a token with a tenant", "00u8c2d9qkL4mT7xw5d7", "acme", acme, "120/900", nil, ""},
		{"the item of the token's tenant wins", "multi", "globex", globex, "0/0", nil, ""},
		{"another tenant falls back to the any-tenant item", "multi", "initech", acme, "0/0", nil, ""},
		{"an unknown subject is ErrNoMapping", "nobody", "acme", "", "", authorizer.ErrNoMapping, ""},
		{"an item with an unknown attribute is an invalid mapping", "extra-attr", "", "", "", authorizer.ErrInvalidMapping, `"note" is unknown`},
		{"a numeric role ARN is an invalid mapping", "numeric-role", "", "", "", authorizer.ErrInvalidMapping, "roleArn must be a string"},
		{"a session below 900 seconds is an invalid mapping", "bad-limit", "", "", "", authorizer.ErrInvalidMapping, "limits.sessionSeconds"},
		{"a numeric tag value is an invalid mapping", "bad-tag", "", "", "", authorizer.ErrInvalidMapping, "tags.tenant must be a string"},
	}
	for _, tc := range lookups {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.Lookup(ctx, tc.sub, tc.tenant)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("error %v, want %v mentioning %q", err, tc.wantErr, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			limits := strings.Join([]string{strconv.Itoa(got.Limits.RequestsPerMinute), strconv.Itoa(got.Limits.SessionSeconds)}, "/")
			if got.RoleARN != tc.role || limits != tc.limits {
				t.Fatalf("mapping %+v, want role %s limits %s", got, tc.role, tc.limits)
			}
		})
	}

	e := newEnv(t)
	a := e.authorizer(t, authorizer.WithRoleStore(store))
	t.Run("alice is allowed through the DynamoDB store", func(t *testing.T) {
		d, err := a.Decide(ctx, bearer(e.token(t, "alice")))
		if err != nil || !d.Allow || d.RoleARN != acme || d.Context()["limits"] != `{"requestsPerMinute":120,"sessionSeconds":900}` {
			t.Fatalf("decision %+v, %v", d, err)
		}
	})
	t.Run("bob, absent from the table, is an unknown user", func(t *testing.T) {
		d, err := a.Decide(ctx, bearer(e.token(t, "bob")))
		if err != nil || d.Reason != authorizer.ReasonUnknownUser {
			t.Fatalf("decision %s (%s), %v", d.Reason, d.Detail, err)
		}
	})
	t.Run("a table that does not exist is role_store_unavailable", func(t *testing.T) {
		missing, _ := authorizer.NewDynamoDBStore(client, "no-such-table")
		wantUnavailable(t, e.authorizer(t, authorizer.WithRoleStore(missing)), e.token(t, "alice"), authorizer.ReasonRoleStoreUnavailable)
	})
	t.Run("a stopped DynamoDB is role_store_unavailable", func(t *testing.T) {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		wantUnavailable(t, a, e.token(t, "alice"), authorizer.ReasonRoleStoreUnavailable)
	})
}

func TestNewDynamoDBStoreValidatesItsArguments(t *testing.T) {
	if _, err := authorizer.NewDynamoDBStore(nil, table); err == nil {
		t.Error("a nil client was accepted")
	}
	if _, err := authorizer.NewDynamoDBStore(dynamoClient("http://127.0.0.1:1"), "a"); err == nil || !strings.Contains(err.Error(), "3-255") {
		t.Errorf("a one-letter table name: %v", err)
	}
}
