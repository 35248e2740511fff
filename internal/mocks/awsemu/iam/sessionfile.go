package iam

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// Sessions can be kept in a file (WithSessionFile), so that an emulator restarted on its data
// directory still knows the credentials it issued: to its clients the restart is invisible, as
// a restart of AWS's own endpoints is. The file holds secrets: it is created 0600.

// storedSession is a Session as a line of the session file; policies are kept as their
// documents and parsed again on load.
type storedSession struct {
	Session
	Policies []storedPolicy `json:"Policies"`
}

type storedPolicy struct {
	Name     string
	Kind     iampolicy.Kind
	Document string
}

// WithSessionFile keeps the sessions STS issues in path, one JSON line each, and loads the
// unexpired ones when the store is made. A file that cannot be read or parsed makes NewStore's
// LoadError say why.
func WithSessionFile(path string) StoreOption {
	return func(s *Store) { s.sessionFile = path }
}

// loadSessions reads the session file, keeping sessions not yet past their retention.
func (s *Store) loadSessions() error {
	f, err := os.Open(s.sessionFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("iam: session file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	now := s.now()
	for n := 1; sc.Scan(); n++ {
		var st storedSession
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			return fmt.Errorf("iam: session file %s:%d: %w", s.sessionFile, n, err)
		}
		if now.Sub(st.Expiration) > sessionRetention {
			continue
		}
		sess := st.Session
		sess.Policies = nil
		for _, p := range st.Policies {
			parsed, err := iampolicy.Parse(p.Kind, p.Name, []byte(p.Document))
			if err != nil {
				return fmt.Errorf("iam: session file %s:%d: policy %s: %w", s.sessionFile, n, p.Name, err)
			}
			sess.Policies = append(sess.Policies, parsed)
		}
		s.sessions.put(sess)
	}
	return sc.Err()
}

// saveSessionLocked appends a session to the session file.
func (s *Store) saveSessionLocked(sess Session) error {
	st := storedSession{Session: sess}
	for _, p := range sess.Policies {
		st.Policies = append(st.Policies, storedPolicy{Name: p.Name(), Kind: p.Kind(), Document: string(p.Document())})
	}
	line, err := json.Marshal(st)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.sessionFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(append(line, '\n'))
	return errors.Join(werr, f.Close())
}
