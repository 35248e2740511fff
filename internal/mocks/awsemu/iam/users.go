package iam

import (
	"crypto/rand"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// IAM users, their inline policies, and the IDs and secrets the store mints.

// CreateUser creates an IAM user.
func (s *Store) CreateUser(accountID, name, path string, tags []Tag) (*User, error) {
	if err := checkName("userName", name, 64); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	if _, ok := acct.users[strings.ToLower(name)]; ok {
		return nil, alreadyExists("User with name %s already exists.", name)
	}
	u := &User{Account: accountID, Name: name, Path: path, ARN: "arn:aws:iam::" + accountID + ":user" + path + name, ID: newID("AIDA"),
		Created: s.now().UTC(), Tags: append([]Tag(nil), tags...), Inline: map[string]*iampolicy.Policy{}}
	acct.users[strings.ToLower(name)] = u
	return u.clone(), nil
}

func (s *Store) userLocked(accountID, name string) (*User, error) {
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	u, ok := acct.users[strings.ToLower(name)]
	if !ok {
		return nil, noSuchEntity("The user with name %s cannot be found.", name)
	}
	return u, nil
}

// GetUser returns a copy of a user.
func (s *Store) GetUser(accountID, name string) (*User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.userLocked(accountID, name)
	if err != nil {
		return nil, err
	}
	return u.clone(), nil
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (s *Store) PutUserPolicy(accountID, userName, policyName, doc string) error {
	p, err := parseInline(policyName, "user "+userName, doc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(accountID, userName)
	if err != nil {
		return err
	}
	return putInline(u.Inline, policyName, doc, p, MaxUserInlineChars, "user "+userName)
}

// newID returns an IAM-style unique ID: the prefix and 16 (keys) or 17 (entities) characters.
func newID(prefix string) string {
	n := 17
	if prefix == "AKIA" || prefix == "ASIA" {
		n = 16
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + string(b)
}

func randomSecret() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
