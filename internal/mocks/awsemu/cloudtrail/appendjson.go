package cloudtrail

import (
	"encoding/json"
	"strconv"
)

// The emulator writes an AssumeRole's requestParameters and responseElements for every call,
// so they are appended by hand rather than marshalled by reflection. The bytes are exactly
// json.Marshal's (FuzzAssumeRoleJSONMatchesMarshal holds them to it): field order, omitempty,
// and the escaping of strings.

// appendString appends s as json.Marshal writes a string. Most strings here (ARNs, names,
// tokens) are printable ASCII with nothing to escape and are copied as they are; any other is
// left to json.Marshal, which knows its escapes (HTML characters, U+2028, invalid UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendJSONString appends s as json.Marshal writes a string, for other packages' records.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }

// appendField appends ,"name":"value" (without the comma for the first field, after '{').
func appendField(b []byte, name, value string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendKey appends ,"name": (without the comma after '{').
func appendKey(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendJSON is AssumeRoleParameters' JSON, in its fields' order.
func (p AssumeRoleParameters) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendField(b, "roleArn", p.RoleArn)
	b = appendField(b, "roleSessionName", p.RoleSessionName)
	if p.SourceIdentity != "" {
		b = appendField(b, "sourceIdentity", p.SourceIdentity)
	}
	if len(p.Tags) > 0 {
		b = appendKey(b, "tags")
		for i, t := range p.Tags {
			if i == 0 {
				b = append(b, '[', '{')
			} else {
				b = append(b, ',', '{')
			}
			b = appendField(b, "key", t.Key)
			b = appendField(b, "value", t.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(p.TransitiveTagKeys) > 0 {
		b = appendKey(b, "transitiveTagKeys")
		b = append(b, '[')
		for i, k := range p.TransitiveTagKeys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
		}
		b = append(b, ']')
	}
	if p.DurationSeconds != 0 {
		b = appendKey(b, "durationSeconds")
		b = strconv.AppendInt(b, int64(p.DurationSeconds), 10)
	}
	if p.ExternalID != "" {
		b = appendField(b, "externalId", p.ExternalID)
	}
	if p.Policy != "" {
		b = appendField(b, "policy", p.Policy)
	}
	if len(p.PolicyArns) > 0 {
		b = appendKey(b, "policyArns")
		for i, a := range p.PolicyArns {
			if i == 0 {
				b = append(b, '[', '{')
			} else {
				b = append(b, ',', '{')
			}
			b = appendField(b, "arn", a.ARN)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// credentialsExpiration is the layout CloudTrail uses for an STS response's expiration.
const credentialsExpiration = "Jan 2, 2006, 3:04:05 PM"

func (c ResponseCredentials) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendField(b, "accessKeyId", c.AccessKeyID)
	if c.SessionToken != "" {
		b = appendField(b, "sessionToken", c.SessionToken)
	}
	b = appendKey(b, "expiration")
	b = append(b, '"')
	b = c.Expiration.UTC().AppendFormat(b, credentialsExpiration) // letters, digits, ", :" only
	return append(b, '"', '}')
}

// appendJSON is AssumeRoleResponseElements' JSON, in its fields' order.
func (r AssumeRoleResponseElements) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.Credentials != nil {
		b = appendKey(b, "credentials")
		b = r.Credentials.appendJSON(b)
	}
	if r.AssumedRoleUser != nil {
		b = appendKey(b, "assumedRoleUser")
		b = append(b, '{')
		b = appendField(b, "assumedRoleId", r.AssumedRoleUser.AssumedRoleID)
		b = appendField(b, "arn", r.AssumedRoleUser.ARN)
		b = append(b, '}')
	}
	if r.PackedPolicySize != 0 {
		b = appendKey(b, "packedPolicySize")
		b = strconv.AppendInt(b, int64(r.PackedPolicySize), 10)
	}
	if r.SourceIdentity != "" {
		b = appendField(b, "sourceIdentity", r.SourceIdentity)
	}
	return append(b, '}')
}
