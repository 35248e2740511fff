package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The state file through which `mcpsso token` finds the running `mcpsso up`: up writes it when
// its stack is ready and removes it when it stops; a file left by an up that was killed is
// recognised by its process being gone.

// envUpState overrides where the state file is (tests running several `up` side by side give
// each its own).
const envUpState = "MCPSSO_UP_STATE"

// upState is what the state file holds.
type upState struct {
	PID     int       `json:"pid"`
	Issuer  string    `json:"issuer"`
	MCP     string    `json:"mcp"`
	Scopes  []string  `json:"scopes,omitempty"` // those the MCP resource requires of every token
	Started time.Time `json:"started"`
}

// upStatePath is $MCPSSO_UP_STATE, else $XDG_RUNTIME_DIR/mcpsso/up.json (a per-user directory
// that the session's end empties), else up.json in the user's cache directory under mcpsso.
func upStatePath() (string, error) {
	if p := os.Getenv(envUpState); p != "" {
		return p, nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "mcpsso", "up.json"), nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no place for the state file of mcpsso up (set %s): %w", envUpState, err)
	}
	return filepath.Join(dir, "mcpsso", "up.json"), nil
}

// writeUpState records st (the running up: this process) and returns how to remove it. The
// file is replaced whole (written aside, then renamed), so a reader never sees half of it; a
// later up replaces it, and remove leaves a file another up has written since.
func writeUpState(st upState) (remove func(), err error) {
	path, err := upStatePath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state file of mcpsso up: %w", err)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".up-*.json")
	if err != nil {
		return nil, fmt.Errorf("state file of mcpsso up: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("state file of mcpsso up: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("state file of mcpsso up: %w", err)
	}
	return func() {
		if cur, err := readUpStateFile(path); err == nil && cur.PID == st.PID {
			_ = os.Remove(path)
		}
	}, nil
}

func readUpStateFile(path string) (upState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return upState{}, err
	}
	var st upState
	if err := json.Unmarshal(data, &st); err != nil {
		return upState{}, fmt.Errorf("%s: not a state file of mcpsso up: %w", path, err)
	}
	if st.PID <= 0 || st.Issuer == "" {
		return upState{}, fmt.Errorf("%s: not a state file of mcpsso up (no pid or issuer)", path)
	}
	return st, nil
}

// howToStartUp is the fix every "no running up" message ends with.
const howToStartUp = "start one with `mcpsso up` (in another terminal), or give --issuer URL (or MCPSSO_ISSUER) of a running IdP such as `mcpsso idp serve`"

// runningUp returns the running up's state, or an error saying that none runs and how to start
// one.
func runningUp() (upState, error) {
	path, err := upStatePath()
	if err != nil {
		return upState{}, fmt.Errorf("no IdP to ask: %v; %s", err, howToStartUp)
	}
	st, err := readUpStateFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return upState{}, fmt.Errorf("no IdP to ask: no mcpsso up is running (it would be recorded in %s); %s", path, howToStartUp)
	case err != nil:
		return upState{}, fmt.Errorf("no IdP to ask: %v; %s", err, howToStartUp)
	case !processAlive(st.PID):
		return upState{}, fmt.Errorf("no IdP to ask: the mcpsso up recorded in %s (pid %d, started %s) is no longer running; %s",
			path, st.PID, st.Started.Local().Format(time.DateTime), howToStartUp)
	}
	return st, nil
}
