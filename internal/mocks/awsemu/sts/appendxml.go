package sts

import (
	"strconv"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// STS answers every request with one of these results, so they write their own XML
// (query.XMLAppender) rather than go through encoding/xml's reflection: the same bytes, which
// TestResultsAppendWhatEncodingXMLWrites checks field by field, whatever fields they have.

// AppendXML appends the result's elements as encoding/xml writes them.
func (r callerIdentityResult) AppendXML(b []byte) []byte {
	b = appendElement(b, "Arn", r.Arn)
	b = appendElement(b, "UserId", r.UserID)
	return appendElement(b, "Account", r.Account)
}

// AppendXML appends the result's elements as encoding/xml writes them.
func (r AssumeRoleResult) AppendXML(b []byte) []byte {
	b = append(b, "<Credentials>"...)
	b = appendElement(b, "AccessKeyId", r.Credentials.AccessKeyID)
	b = appendElement(b, "SecretAccessKey", r.Credentials.SecretAccessKey)
	b = appendElement(b, "SessionToken", r.Credentials.SessionToken)
	b = appendElement(b, "Expiration", r.Credentials.Expiration)
	b = append(b, "</Credentials><AssumedRoleUser>"...)
	b = appendElement(b, "AssumedRoleId", r.AssumedRoleUser.AssumedRoleID)
	b = appendElement(b, "Arn", r.AssumedRoleUser.Arn)
	b = append(b, "</AssumedRoleUser>"...)
	if r.PackedPolicySize != nil {
		b = append(b, "<PackedPolicySize>"...)
		b = strconv.AppendInt(b, int64(*r.PackedPolicySize), 10)
		b = append(b, "</PackedPolicySize>"...)
	}
	if r.SourceIdentity != "" {
		b = appendElement(b, "SourceIdentity", r.SourceIdentity)
	}
	return b
}

// appendElement appends <name>value</name>, value escaped.
func appendElement(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = query.AppendEscaped(b, value)
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}
