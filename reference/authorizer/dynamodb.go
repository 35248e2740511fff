package authorizer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrInvalidMapping is the error a RoleStore wraps for a stored mapping it cannot read (an
// item of the wrong shape). The decision is invalid_mapping (a deny), not an outage.
var ErrInvalidMapping = errors.New("invalid role mapping")

// DynamoDBAPI is the part of *dynamodb.Client the store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// AnyTenant is the sort-key value of a subject's mapping that applies whatever the token's
// tenant claim (DynamoDB key attributes cannot be empty).
const AnyTenant = "*"

// The DynamoDB table layout (attribute names are fixed):
//
//	sub     S  partition key: the token's subject, exactly as issued
//	tenant  S  sort key: a tenant claim value, or "*" (AnyTenant) for any or none
//	roleArn S  required: the role ARN
//	tags    M  optional: session tags, each value S ({"tenant": {"S": "acme"}})
//	limits  M  optional: {"requestsPerMinute": {"N": "120"}, "sessionSeconds": {"N": "900"}}
//
// No other attribute is allowed (strict decoding, as for every format the authorizer reads).
// A lookup reads (sub, tenant) when the token has a tenant claim, then (sub, "*"): at most two
// eventually consistent GetItem calls.
const (
	attrSub     = "sub"
	attrTenant  = "tenant"
	attrRoleARN = "roleArn"
	attrTags    = "tags"
	attrLimits  = "limits"
)

var tableNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// DynamoDBStore is a RoleStore on a DynamoDB table (layout above).
type DynamoDBStore struct {
	client DynamoDBAPI
	table  string
}

// NewDynamoDBStore returns a store on the table, using client (dynamodb.NewFromConfig).
func NewDynamoDBStore(client DynamoDBAPI, table string) (*DynamoDBStore, error) {
	if client == nil {
		return nil, errors.New("dynamodb role store: nil client")
	}
	if !tableNamePattern.MatchString(table) {
		return nil, fmt.Errorf("dynamodb role store: table name %s must be 3-255 letters, digits and _.-", quote(table))
	}
	return &DynamoDBStore{client: client, table: table}, nil
}

// Lookup implements RoleStore.
func (s *DynamoDBStore) Lookup(ctx context.Context, sub, tenant string) (Mapping, error) {
	if sub == "" {
		return Mapping{}, noMapping(sub, tenant)
	}
	if tenant != "" && tenant != AnyTenant {
		m, found, err := s.get(ctx, sub, tenant)
		if err != nil || found {
			return m, err
		}
	}
	m, found, err := s.get(ctx, sub, AnyTenant)
	if err != nil {
		return Mapping{}, err
	}
	if !found {
		return Mapping{}, noMapping(sub, tenant)
	}
	return m, nil
}

func (s *DynamoDBStore) get(ctx context.Context, sub, tenant string) (Mapping, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			attrSub:    &types.AttributeValueMemberS{Value: sub},
			attrTenant: &types.AttributeValueMemberS{Value: tenant},
		},
	})
	if err != nil {
		return Mapping{}, false, fmt.Errorf("dynamodb role store: GetItem on %s: %w", s.table, err)
	}
	if len(out.Item) == 0 {
		return Mapping{}, false, nil
	}
	m, err := decodeItem(out.Item)
	if err != nil {
		return Mapping{}, false, fmt.Errorf("%w: table %s, item (sub %s, tenant %s): %v", ErrInvalidMapping, s.table, quote(sub), quote(tenant), err)
	}
	return m, true, nil
}

// decodeItem reads one item strictly: known attributes of the right types, nothing else.
func decodeItem(item map[string]types.AttributeValue) (Mapping, error) {
	var m Mapping
	names := make([]string, 0, len(item))
	for n := range item {
		names = append(names, n)
	}
	sort.Strings(names) // report the same error first every time
	for _, name := range names {
		av := item[name]
		switch name {
		case attrSub, attrTenant:
			if _, ok := av.(*types.AttributeValueMemberS); !ok {
				return Mapping{}, fmt.Errorf("attribute %s must be a string (S)", name)
			}
		case attrRoleARN:
			v, ok := av.(*types.AttributeValueMemberS)
			if !ok {
				return Mapping{}, fmt.Errorf("attribute %s must be a string (S)", name)
			}
			m.RoleARN = v.Value
		case attrTags:
			v, ok := av.(*types.AttributeValueMemberM)
			if !ok {
				return Mapping{}, fmt.Errorf("attribute %s must be a map (M) of strings", name)
			}
			m.Tags = make(map[string]string, len(v.Value))
			for k, tv := range v.Value {
				s, ok := tv.(*types.AttributeValueMemberS)
				if !ok {
					return Mapping{}, fmt.Errorf("attribute tags.%s must be a string (S)", k)
				}
				m.Tags[k] = s.Value
			}
		case attrLimits:
			v, ok := av.(*types.AttributeValueMemberM)
			if !ok {
				return Mapping{}, fmt.Errorf("attribute %s must be a map (M)", name)
			}
			for k, lv := range v.Value {
				var dst *int
				switch k {
				case "requestsPerMinute":
					dst = &m.Limits.RequestsPerMinute
				case "sessionSeconds":
					dst = &m.Limits.SessionSeconds
				default:
					return Mapping{}, fmt.Errorf("attribute limits.%s is unknown (the fields are requestsPerMinute and sessionSeconds)", k)
				}
				n, ok := lv.(*types.AttributeValueMemberN)
				if !ok {
					return Mapping{}, fmt.Errorf("attribute limits.%s must be a number (N)", k)
				}
				i, err := strconv.Atoi(n.Value)
				if err != nil {
					return Mapping{}, fmt.Errorf("attribute limits.%s: %s must be a whole number", k, quote(n.Value))
				}
				*dst = i
			}
		default:
			return Mapping{}, fmt.Errorf("attribute %s is unknown (the attributes are sub, tenant, roleArn, tags and limits)", quote(name))
		}
	}
	if m.RoleARN == "" {
		return Mapping{}, errors.New("attribute roleArn is required")
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}
