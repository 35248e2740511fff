package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on
// every Linux architecture Go supports (the kernel fixes it for user space whatever its HZ).
const clockTicksPerSecond = 100

// servedEmulator is `mcpsso aws serve` running as a separate process of this binary.
type servedEmulator struct {
	cmd      *exec.Cmd
	endpoint string
	done     chan error
}

// startServedEmulator runs this binary's `aws serve` on a free loopback port, in its own
// process group, and waits for its ready line. Its decision log goes to /dev/null but is
// still written, as a user's emulator writes it.
func startServedEmulator(ctx context.Context, cpuProfile string) (*servedEmulator, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to run `aws serve`: %w", err)
	}
	args := []string{"aws", "serve", "--addr", "127.0.0.1:0"}
	if cpuProfile != "" {
		abs, err := filepath.Abs(cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		args = append(args, "--cpuprofile", abs)
	}
	cmd := exec.Command(self, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s aws serve: %w", self, err)
	}
	e := &servedEmulator{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- url
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { e.done <- cmd.Wait() }()
	select {
	case e.endpoint = <-ready:
		return e, nil
	case err := <-e.done:
		return nil, fmt.Errorf("`aws serve` exited before it was ready: %v", err)
	case <-ctx.Done():
		_ = e.Close()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		_ = e.Close()
		return nil, errors.New("`aws serve` printed no ready line within 30s")
	}
}

// Close stops the emulator with SIGTERM, so that it shuts down cleanly (and writes its CPU
// profile), and kills it if it has not within ten seconds.
func (e *servedEmulator) Close() error {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-e.done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			return err
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
		return errors.New("`aws serve` did not stop within 10s of SIGTERM; killed")
	}
}

// groupCPU is the user+system CPU used so far by the live processes of process group pgid
// (a server and any children it runs), read from /proc/<pid>/stat.
func groupCPU(pgid int) (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("reading server CPU: %w (needs Linux /proc)", err)
	}
	var ticks int64
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		pgrp, t, ok := parseProcStat(string(b))
		if ok && (pgrp == pgid || pid == pgid) {
			ticks += t
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("reading server CPU: no process in group %d", pgid)
	}
	return time.Duration(ticks) * time.Second / clockTicksPerSecond, nil
}

// parseProcStat reads the process group and utime+stime (in clock ticks) of a
// /proc/<pid>/stat line. The command name (field 2) may hold spaces and parentheses, so the
// fields are counted from its closing parenthesis: state, ppid, pgrp, ..., utime is field 14.
func parseProcStat(s string) (pgrp int, ticks int64, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, false
	}
	pgrp, err1 := strconv.Atoi(f[2])
	utime, err2 := strconv.ParseInt(f[11], 10, 64)
	stime, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return pgrp, utime + stime, true
}

// freshClientSTSWorkload is the sts workload as an MCP server runs it per request: a new
// client for every AssumeRole + GetCallerIdentity pair, the second call signed with the
// credentials the first returned. The new client goes through cfg's HTTP client, whose
// connections are kept alive (reference/mcpserver shares one HTTP client among its clients
// this way), or, with newConnection, through a transport of its own, so a new TCP connection.
func freshClientSTSWorkload(ctx context.Context, cfg aws.Config, roleName string, newConnection bool) (func() error, error) {
	roleARN, err := createBenchRole(ctx, cfg, roleName)
	if err != nil {
		return nil, err
	}
	return func() error {
		httpClient := cfg.HTTPClient
		if newConnection {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			httpClient = &http.Client{Transport: tr}
		}
		c := sts.NewFromConfig(cfg, func(o *sts.Options) { o.HTTPClient = httpClient })
		out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bench")})
		if err != nil {
			return fmt.Errorf("AssumeRole: %w", err)
		}
		k := out.Credentials
		// The user's client: new, with the session's credentials, on the same HTTP client.
		user := sts.NewFromConfig(cfg, func(o *sts.Options) {
			o.HTTPClient = httpClient
			o.Credentials = credentials.StaticCredentialsProvider{Value: aws.Credentials{
				AccessKeyID: *k.AccessKeyId, SecretAccessKey: *k.SecretAccessKey, SessionToken: *k.SessionToken}}
		})
		if _, err := user.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			return fmt.Errorf("GetCallerIdentity with the session: %w", err)
		}
		return nil
	}, nil
}
