package iam

import (
	"net/http"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
)

// Role tags, checked against IAM's tag rules.

// TagRole adds or replaces tags (keys compare case-insensitively, as in IAM).
func (s *Store) TagRole(accountID, roleName string, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	merged := append([]Tag(nil), r.Tags...)
	for _, t := range tags {
		replaced := false
		for i := range merged {
			if strings.EqualFold(merged[i].Key, t.Key) {
				merged[i], replaced = t, true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > MaxTagsPerEntity {
		return limitExceeded("The number of tags has reached the maximum limit of %d.", MaxTagsPerEntity)
	}
	r.Tags = merged
	return nil
}

// UntagRole removes tags by key.
func (s *Store) UntagRole(accountID, roleName string, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	kept := r.Tags[:0:0]
	for _, t := range r.Tags {
		drop := false
		for _, k := range keys {
			drop = drop || strings.EqualFold(t.Key, k)
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	r.Tags = kept
	return nil
}

// checkTags applies IAM's tag rules: at most 50, key 1..128 and value 0..256 characters of
// letters, spaces, digits and _.:/=+-@, keys unique ignoring case, no aws: prefix.
func checkTags(tags []Tag) error {
	if len(tags) > MaxTagsPerEntity {
		return limitExceeded("The number of tags has reached the maximum limit of %d.", MaxTagsPerEntity)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case len(t.Key) < 1 || len(t.Key) > 128 || !tagCharsRe.MatchString(t.Key):
			return awserr.Validation("1 validation error detected: Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", t.Key)
		case len(t.Value) > 256 || !tagCharsRe.MatchString(t.Value):
			return awserr.Validation("1 validation error detected: Value '%s' at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", t.Value)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return awserr.New(http.StatusBadRequest, "InvalidInput", "Tag keys starting with 'aws:' are reserved for AWS use: %s", t.Key)
		case seen[strings.ToLower(t.Key)]:
			return awserr.New(http.StatusBadRequest, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive: %s", t.Key)
		}
		seen[strings.ToLower(t.Key)] = true
	}
	return nil
}
