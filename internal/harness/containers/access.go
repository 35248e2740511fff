package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
)

// AliasMetrics is the metrics relay: the VPC's Prometheus agent, on the internal network beside
// the MCP server and on the public network with a port published on the host's loopback. It
// relays GET /metrics to the MCP server's metrics listener and nothing else, so the host can
// scrape the server while its MCP port stays unreachable from the host and the public network.
const AliasMetrics = "metrics"

const metricsRelayPort = "9464/tcp"

// startMetricsRelay runs `mcpsso vpc metrics-relay` for the reference MCP server's metrics.
func (t *Topology) startMetricsRelay(ctx context.Context, cfg settings) error {
	host, err := freePort()
	if err != nil {
		return err
	}
	if _, err := t.start(ctx, cfg, AliasMetrics,
		[]string{"vpc", "metrics-relay", "--addr", "0.0.0.0:9464", "--upstream", "http://" + AliasMCP + ":" + mcpMetricsPort + "/metrics"},
		readyLine(),
		network.WithNetwork([]string{AliasMetrics}, t.public),
		network.WithNetwork([]string{AliasMetrics}, t.internal),
		testcontainers.WithExposedPorts(metricsRelayPort), publishOn(metricsRelayPort, host)); err != nil {
		return err
	}
	t.metricsURL = "http://127.0.0.1:" + strconv.Itoa(host) + "/metrics"
	return nil
}

// MetricsURL is the reference MCP server's Prometheus endpoint as the host scrapes it, through
// the metrics relay (AliasMetrics). A WithMCPImage server has none the kit knows: an error.
func (t *Topology) MetricsURL() (string, error) {
	if t.metricsURL == "" {
		return "", fmt.Errorf("containers: the MCP server image %s has no metrics endpoint the kit knows", t.mcpImage)
	}
	return t.metricsURL, nil
}

// TaskRoleCredentials are the MCP server's task-role credentials, fetched the way the server
// gets them: from 169.254.170.2 with its relative URI, inside the MCP task, by a probe
// container (`mcpsso vpc task-credentials`) that joins the task's network namespace. They are the AWS
// emulator's sessions, valid at the published AWS endpoint too. They are kept until five
// minutes before they expire.
func (t *Topology) TaskRoleCredentials(ctx context.Context) (aws.Credentials, error) {
	t.credMu.Lock()
	defer t.credMu.Unlock()
	if c := t.taskCreds; c.AccessKeyID != "" && (!c.CanExpire || time.Until(c.Expires) > 5*time.Minute) {
		return c, nil
	}
	code, out, err := t.runProbe(ctx, 30*time.Second, probeInTask, t.taskEnv(), "vpc", "task-credentials")
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("containers: task-role credentials: %w", err)
	}
	if code != 0 {
		return aws.Credentials{}, fmt.Errorf("containers: task-role credentials: the probe exited %d: %s", code, strings.TrimSpace(out))
	}
	var got struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string `json:"SecretAccessKey"`
		Token           string `json:"Token"`
		Expiration      string `json:"Expiration"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &got); err != nil || got.AccessKeyID == "" || got.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("containers: task-role credentials: the probe printed no credentials (%v): %.200s", err, out)
	}
	c := aws.Credentials{AccessKeyID: got.AccessKeyID, SecretAccessKey: got.SecretAccessKey, SessionToken: got.Token, Source: "mcpsso task role"}
	if got.Expiration != "" {
		exp, err := time.Parse(time.RFC3339, got.Expiration)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("containers: task-role credentials: Expiration %q: %w", got.Expiration, err)
		}
		c.CanExpire, c.Expires = true, exp
	}
	t.taskCreds = c
	return c, nil
}

// TaskRoleAWSConfig is an SDK configuration acting as the MCP server's task role through the
// published AWS endpoint. It fetches the credentials once now, so that an error shows here,
// and again when they near expiry.
func (t *Topology) TaskRoleAWSConfig(ctx context.Context) (aws.Config, error) {
	if _, err := t.TaskRoleCredentials(ctx); err != nil {
		return aws.Config{}, err
	}
	return aws.Config{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(t.awsEndpoint),
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(t.TaskRoleCredentials))}, nil
}

// JSONLogs are the components' JSON log lines (one JSON object each; ready lines and other
// text are left out). Lines are appended in the order this method first sees them, so the
// list only grows and an index taken earlier marks where the newer lines start, as the suites
// expect.
func (t *Topology) JSONLogs(ctx context.Context) ([]string, error) {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	if t.logSeen == nil {
		t.logSeen = map[string]int{}
	}
	t.mu.Lock()
	order := append([]string(nil), t.order...)
	t.mu.Unlock()
	for _, name := range order {
		out, err := t.ComponentLogs(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("containers: logs of %s: %w", name, err)
		}
		seen := t.logSeen[name]
		if seen > len(out) {
			return nil, fmt.Errorf("containers: logs of %s shrank from %d to %d bytes", name, seen, len(out))
		}
		fresh := out[seen:]
		end := strings.LastIndexByte(fresh, '\n')
		if end < 0 {
			continue // no complete line yet: a line being written is read next time
		}
		for _, line := range strings.Split(fresh[:end], "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "{") && json.Valid([]byte(line)) {
				t.logLines = append(t.logLines, line)
			}
		}
		t.logSeen[name] = seen + end + 1
	}
	return append([]string(nil), t.logLines...), nil
}

// probe is a short-lived kit container on the internal network.
type probe struct {
	c *testcontainers.DockerContainer
}

// Where a probe runs: on the internal network, or inside the MCP task's network namespace.
const (
	probeOnInternal = false
	probeInTask     = true
)

// startProbe starts `mcpsso args...` on the internal network, or in the MCP task, and returns
// once it runs.
func (t *Topology) startProbe(ctx context.Context, inTask bool, env map[string]string, args ...string) (*probe, error) {
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(args...),
		testcontainers.WithLabels(map[string]string{"mcpsso.component": "probe"}),
	}
	if inTask {
		opts = append(opts, t.inTask())
	} else {
		opts = append(opts, network.WithNetworkName(nil, t.internal.Name))
	}
	if env != nil {
		opts = append(opts, testcontainers.WithEnv(env))
	}
	c, err := testcontainers.Run(ctx, t.image, opts...)
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.Background())
		}
		return nil, fmt.Errorf("a probe container (%s): %w", strings.Join(args[:min(2, len(args))], " "), err)
	}
	return &probe{c}, nil
}

// result is the probe's exit code and output once it has exited (done).
func (p *probe) result(ctx context.Context) (code int, out string, done bool, err error) {
	st, err := p.c.State(ctx)
	if err != nil {
		return 0, "", false, err
	}
	if st.Running || st.Status == "created" {
		return 0, "", false, nil
	}
	rc, err := p.c.Logs(ctx)
	if err != nil {
		return 0, "", false, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return st.ExitCode, string(b), true, err
}

func (p *probe) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = p.c.Terminate(ctx, testcontainers.StopTimeout(time.Second))
}

// runProbe runs a probe to its end, within timeout.
func (t *Topology) runProbe(ctx context.Context, timeout time.Duration, inTask bool, env map[string]string, args ...string) (int, string, error) {
	p, err := t.startProbe(ctx, inTask, env, args...)
	if err != nil {
		return 0, "", err
	}
	defer p.remove()
	deadline := time.Now().Add(timeout)
	for {
		code, out, done, err := p.result(ctx)
		if err != nil || done {
			return code, out, err
		}
		if time.Now().After(deadline) {
			return 0, "", errors.New("the probe did not finish within " + timeout.String())
		}
		select {
		case <-ctx.Done():
			return 0, "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
