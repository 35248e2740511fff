package containers

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// newInternalNetwork creates the internal network with the Docker client itself: testcontainers'
// network.New drops driver options, and without com.docker.network.bridge.inhibit_ipv4 the
// host gets the bridge's gateway address (169.254.170.1) and can reach every container on the
// network, the MCP server included. With it, only the network's containers are on it.
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
		IPAM:     &mobynet.IPAM{Config: []mobynet.IPAMConfig{{Subnet: netip.MustParsePrefix(internalSubnet)}}},
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
