package containers_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/harness/containers"
)

// envChild makes the test binary a second process that runs one topology (TestMain).
const envChild = "MCPSSO_TEST_TOPOLOGY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(runChildTopology())
	}
	os.Exit(m.Run())
}

// runChildTopology starts a topology, checks that alice gets through its gateway, prints "up
// <MCP URL>", and holds it until its standard input closes.
func runChildTopology() int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	topo, err := containers.Run(ctx)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer topo.Close()
	if err := aliceGetsThrough(ctx, topo); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("up", topo.MCPURL())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes it
	return 0
}

// aliceGetsThrough calls list_objects as alice through the gateway and wants her tenant's bucket.
func aliceGetsThrough(ctx context.Context, topo *containers.Topology) error {
	tok, err := topo.TokenFor(ctx, "alice")
	if err != nil {
		return err
	}
	resp, err := postTool(ctx, topo.MCPURL(), tok, "list_objects", "{}")
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK || !strings.Contains(resp.body, "quilt-tenant-acme") {
		return fmt.Errorf("alice through %s: HTTP %d %s", topo.MCPURL(), resp.status, resp.body)
	}
	return nil
}

// TestTopologiesRunSideBySide starts two topologies at once in this process and a third in
// another process, and wants all three up and serving at the same time: nothing in a topology
// is fixed machine-wide any more (the task-role address lives in each MCP task's own network
// namespace), so `go test ./...` runs the container packages in parallel.
func TestTopologiesRunSideBySide(t *testing.T) {
	t.Parallel() // each topology is its own: nothing in one is fixed machine-wide
	containers.RequireDocker(t)
	ctx := t.Context()
	if _, err := containers.KitImage(ctx); err != nil { // built once, before the race
		t.Fatal(err)
	}

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envChild+"=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		if err := child.Wait(); err != nil {
			t.Errorf("the second process: %v", err)
		}
	}()
	childUp := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "up ") || strings.HasPrefix(line, "error:") {
				childUp <- line
				return
			}
		}
		childUp <- "the second process ended without a word"
	}()

	var wg sync.WaitGroup
	topos := make([]*containers.Topology, 2)
	errs := make([]error, 2)
	for i := range topos {
		wg.Go(func() {
			if topos[i], errs[i] = containers.Run(ctx); errs[i] == nil {
				errs[i] = aliceGetsThrough(ctx, topos[i])
			}
		})
	}
	wg.Wait()
	for _, topo := range topos {
		if topo != nil {
			t.Cleanup(func() {
				if err := topo.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("topology %d of this process: %v", i+1, err)
		}
	}
	select {
	case line := <-childUp:
		if !strings.HasPrefix(line, "up ") {
			t.Fatalf("the second process's topology: %s", line)
		}
		urls := map[string]bool{topos[0].MCPURL(): true, topos[1].MCPURL(): true, strings.TrimPrefix(line, "up "): true}
		if len(urls) != 3 {
			t.Fatalf("three topologies share an MCP URL: %v", urls)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the second process's topology was not up within 3 minutes")
	}
	// All three are up now: the two of this process still serve while the other one runs.
	for i, topo := range topos {
		if err := aliceGetsThrough(ctx, topo); err != nil {
			t.Errorf("topology %d, with the others up: %v", i+1, err)
		}
	}
}
