package containers

import (
	"context"
	"fmt"
	"maps"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// newInternalNetwork creates the internal network with the Docker client itself: testcontainers'
// network.New drops driver options, and without com.docker.network.bridge.inhibit_ipv4 the
// host gets the bridge's gateway address and can reach every container on the network, the
// MCP server included. With it, only the network's containers are on it. Docker picks the
// subnet from its pools, so any number of topologies can run at once: the task-role address
// lives in the MCP task's own network namespace (tasknet.go), not on this network.
func newInternalNetwork(ctx context.Context) (*testcontainers.DockerNetwork, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	name := "mcpsso-internal-" + randomHex(6)
	labels := testcontainers.GenericLabels()
	maps.Copy(labels, map[string]string{"mcpsso.network": "internal"})
	res, err := cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver:   "bridge",
		Internal: true,
		Options:  map[string]string{"com.docker.network.bridge.inhibit_ipv4": "true"},
		Labels:   labels,
	})
	if err != nil {
		return nil, fmt.Errorf("create network: %w", err)
	}
	return &testcontainers.DockerNetwork{ID: res.ID, Name: name, Driver: "bridge"}, nil
}

// removeNetwork removes a network by ID with the Docker client, for networks made by
// newInternalNetwork (they have no testcontainers provider) and network.New alike.
func removeNetwork(ctx context.Context, nw *testcontainers.DockerNetwork) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{})
	return err
}
