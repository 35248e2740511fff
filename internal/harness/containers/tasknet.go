package containers

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/ecscreds"
)

// AliasTask is the component that holds the MCP task's network namespace (`mcpsso vpc
// task-endpoint`): on the internal network it answers to the alias "mcp", and inside, at
// 169.254.170.2, it serves the task role.
//
// Why a namespace of its own: the SDKs fetch container credentials over plain HTTP only from
// loopback, 169.254.170.2 or 169.254.170.23, and on Fargate a task's containers share one
// network namespace in which 169.254.170.2 answers. Putting that address on the internal
// network instead fixes the network's subnet machine-wide, and Docker refuses a second
// network with the same subnet, so only one topology could run at a time. Here the address is
// added to the task namespace's loopback (CAP_NET_ADMIN, for this container only), the
// network's subnet is Docker's choice, and the MCP server gets its credentials as on Fargate:
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, no token, nothing outside the task able to call it.
const AliasTask = "task"

// startTask starts the MCP task's namespace holder; it relays the task role from the AWS
// container's own endpoint (awsTaskRolePort, which wants the topology's token).
func (t *Topology) startTask(ctx context.Context, cfg settings) error {
	t.taskRelativeURI = "/v2/credentials/" + randomHex(16)
	_, err := t.start(ctx, cfg, AliasTask,
		[]string{"vpc", "task-endpoint", "--address", TaskRoleIP, "--path", t.taskRelativeURI,
			"--upstream", "http://" + AliasAWS + ":" + awsTaskRolePort + awsTaskRolePath},
		readyLine(),
		network.WithNetwork([]string{AliasMCP}, t.internal),
		testcontainers.WithEnv(map[string]string{ecscreds.EnvAuthorizationToken: t.taskToken}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.CapAdd = append(hc.CapAdd, "NET_ADMIN") // to add 169.254.170.2 to its own lo
		}))
	if err != nil {
		return fmt.Errorf("%w (the MCP task's network namespace)", err)
	}
	return nil
}

// inTask makes a container join the MCP task's network namespace (docker run --network
// container:<task>), as a container of the same Fargate task.
func (t *Topology) inTask() testcontainers.CustomizeRequestOption {
	id := t.Container(AliasTask).GetContainerID()
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.NetworkMode = container.NetworkMode("container:" + id)
	})
}

// taskEnv is the environment of a container in the MCP task: the task role as Fargate hands it
// over, and the AWS endpoint.
func (t *Topology) taskEnv() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":          "http://" + AliasAWS + ":4566",
		"AWS_REGION":                awsemu.DefaultRegion,
		ecscreds.EnvRelativeURI:     t.taskRelativeURI,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}
