// Package cloudtrail records every request the AWS emulator handles, allowed or denied, as a
// CloudTrail record, and serves the records through the CloudTrail LookupEvents API and as
// newline-delimited JSON.
//
// An Event mirrors the record format CloudTrail delivers (eventVersion 1.08), with the JSON
// names and omissions CloudTrail uses, so tools and assertions written against real trails read
// the emulator's records unchanged. A Store keeps a bounded window of them; Handler answers
// LookupEvents on the JSON 1.1 protocol exactly as the aws-sdk-go-v2 cloudtrail client expects.
//
// Like AWS, LookupEvents returns management events only: data events (S3 object reads and
// writes, eventCategory "Data") are in the Store and the NDJSON sink but not in lookups.
package cloudtrail

import (
	"encoding/json"
	"fmt"
	"time"
)

// Values CloudTrail writes into records.
const (
	EventVersion       = "1.08"
	EventTypeAPICall   = "AwsApiCall"
	CategoryManagement = "Management"
	CategoryData       = "Data"
)

// userIdentity.type values.
const (
	IdentityAssumedRole = "AssumedRole"
	IdentityIAMUser     = "IAMUser"
	IdentityRoot        = "Root"
	IdentityAWSService  = "AWSService"
	IdentityUnknown     = "Unknown"
)

// recordTime is the one timestamp layout of CloudTrail records: RFC 3339, UTC, whole seconds.
const recordTime = "2006-01-02T15:04:05Z"

// Event is one CloudTrail record. Store.Record fills in eventVersion, eventTime, eventID,
// requestID, eventType, eventCategory, managementEvent and recipientAccountId when they are
// missing.
type Event struct {
	EventVersion    string       `json:"eventVersion"`
	UserIdentity    UserIdentity `json:"userIdentity"`
	EventTime       time.Time    `json:"eventTime"` // written in UTC with second precision
	EventSource     string       `json:"eventSource"`
	EventName       string       `json:"eventName"`
	AWSRegion       string       `json:"awsRegion"`
	SourceIPAddress string       `json:"sourceIPAddress"`
	UserAgent       string       `json:"userAgent"`
	// ErrorCode and ErrorMessage are absent from successful calls' records.
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	// RequestParameters and ResponseElements are written as null when empty, as CloudTrail
	// does (e.g. responseElements of a denied call). Never put secret keys in them.
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID,omitempty"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []Resource      `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
}

// MarshalJSON writes the record with eventTime in CloudTrail's layout.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event // no methods: avoids recursion
	p := plain(e)
	// time.Time's own encoding of a UTC instant with zero nanoseconds is exactly recordTime.
	p.EventTime = e.EventTime.UTC().Truncate(time.Second)
	return json.Marshal(p)
}

// UserIdentity is the record's userIdentity element.
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"` // IAM users; assumed roles carry it in the session issuer
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"` // AWSService callers
}

// SessionContext describes the temporary-credential session a request was made with.
type SessionContext struct {
	SessionIssuer  *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes     SessionAttributes `json:"attributes"`
	SourceIdentity string            `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role (or user) whose credentials the session was issued from.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes are written as CloudTrail writes them: both values as strings.
type SessionAttributes struct {
	CreationDate     time.Time
	MFAAuthenticated bool
}

type sessionAttributesJSON struct {
	CreationDate     string `json:"creationDate,omitempty"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// MarshalJSON writes {"creationDate":"2026-11-26T03:04:05Z","mfaAuthenticated":"false"}.
func (a SessionAttributes) MarshalJSON() ([]byte, error) {
	w := sessionAttributesJSON{MFAAuthenticated: fmt.Sprint(a.MFAAuthenticated)}
	if !a.CreationDate.IsZero() {
		w.CreationDate = a.CreationDate.UTC().Format(recordTime)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (a *SessionAttributes) UnmarshalJSON(b []byte) error {
	var w sessionAttributesJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = SessionAttributes{MFAAuthenticated: w.MFAAuthenticated == "true"}
	if w.CreationDate != "" {
		t, err := time.Parse(time.RFC3339, w.CreationDate)
		if err != nil {
			return fmt.Errorf("sessionContext.attributes.creationDate: %w", err)
		}
		a.CreationDate = t
	}
	return nil
}

// Resource is one entry of the record's resources list.
type Resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"` // e.g. AWS::IAM::Role, AWS::S3::Bucket, AWS::S3::Object
	ARN       string `json:"ARN"`
}

// Tag is a session tag as CloudTrail writes it in AssumeRole's requestParameters.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PolicyARN is a managed session policy in AssumeRole's requestParameters.
type PolicyARN struct {
	ARN string `json:"arn"`
}

// AssumeRoleParameters are AssumeRole's requestParameters as CloudTrail records them.
type AssumeRoleParameters struct {
	RoleArn           string      `json:"roleArn"`
	RoleSessionName   string      `json:"roleSessionName"`
	SourceIdentity    string      `json:"sourceIdentity,omitempty"`
	Tags              []Tag       `json:"tags,omitempty"`
	TransitiveTagKeys []string    `json:"transitiveTagKeys,omitempty"`
	DurationSeconds   int         `json:"durationSeconds,omitempty"`
	ExternalID        string      `json:"externalId,omitempty"`
	Policy            string      `json:"policy,omitempty"`
	PolicyArns        []PolicyARN `json:"policyArns,omitempty"`
}

// JSON returns p as a requestParameters value: json.Marshal's bytes, written without reflection.
func (p AssumeRoleParameters) JSON() json.RawMessage {
	n := 64 + len(p.RoleArn) + len(p.RoleSessionName) + len(p.SourceIdentity) + len(p.Policy) + len(p.ExternalID) + 32*len(p.Tags)
	return p.appendJSON(make([]byte, 0, n))
}

// AssumeRoleResponseElements are AssumeRole's responseElements as CloudTrail records them.
type AssumeRoleResponseElements struct {
	Credentials      *ResponseCredentials `json:"credentials,omitempty"`
	AssumedRoleUser  *AssumedRoleUser     `json:"assumedRoleUser,omitempty"`
	PackedPolicySize int                  `json:"packedPolicySize,omitempty"`
	SourceIdentity   string               `json:"sourceIdentity,omitempty"`
}

// JSON returns r as a responseElements value: json.Marshal's bytes, written without reflection.
func (r AssumeRoleResponseElements) JSON() json.RawMessage {
	n := 192 + len(r.SourceIdentity)
	if c := r.Credentials; c != nil {
		n += len(c.AccessKeyID) + len(c.SessionToken)
	}
	if u := r.AssumedRoleUser; u != nil {
		n += len(u.AssumedRoleID) + len(u.ARN)
	}
	return r.appendJSON(make([]byte, 0, n))
}

// ResponseCredentials are issued credentials as CloudTrail records them: the secret access key
// is never part of a record; the access key id and session token are.
type ResponseCredentials struct {
	AccessKeyID  string
	SessionToken string
	Expiration   time.Time
}

// MarshalJSON writes the expiration in the layout CloudTrail uses for STS responses
// ("Nov 26, 2026, 3:04:05 AM", UTC).
func (c ResponseCredentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKeyID  string `json:"accessKeyId"`
		SessionToken string `json:"sessionToken,omitempty"`
		Expiration   string `json:"expiration"`
	}{c.AccessKeyID, c.SessionToken, c.Expiration.UTC().Format("Jan 2, 2006, 3:04:05 PM")})
}

// AssumedRoleUser identifies the session AssumeRole created.
type AssumedRoleUser struct {
	AssumedRoleID string `json:"assumedRoleId"` // AROA…:<session name>
	ARN           string `json:"arn"`
}
