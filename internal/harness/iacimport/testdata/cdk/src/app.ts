// The MCP-on-AWS pattern's IAM as a CDK app: the MCP server's ECS task role, one target role
// per tenant and one bucket per tenant. Context "variant" picks the policies: "corrected" (the
// kit's reference) or "tutorial" (the tutorial's, with its mistakes).
import { App, Stack, StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

const tenants = ["acme", "globex"];

class McpStack extends Stack {
  constructor(scope: Construct, id: string, variant: string, props?: StackProps) {
    super(scope, id, props);
    const tutorial = variant === "tutorial";

    const taskRole = new iam.Role(this, "TaskRole", {
      roleName: "ecsTaskRole",
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
    });
    // Mistake 2 in the tutorial: no sts:SetSourceIdentity.
    taskRole.addToPolicy(new iam.PolicyStatement({
      sid: "AssumeTargetRolesWithIdentityAndTags",
      actions: tutorial ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
      resources: [`arn:${this.partition}:iam::${this.account}:role/quilt-mcp-target-*`],
    }));

    const tenantData = tutorial ? undefined : new iam.ManagedPolicy(this, "TenantData", {
      managedPolicyName: "quilt-mcp-tenant-data",
      statements: [
        new iam.PolicyStatement({
          sid: "ListOwnTenantBucket",
          actions: ["s3:ListBucket"],
          resources: ["arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}"],
        }),
        new iam.PolicyStatement({
          sid: "ReadWriteOwnTenantObjects",
          actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          resources: ["arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"],
        }),
      ],
    });

    const task = new iam.ArnPrincipal(taskRole.roleArn);
    for (const tenant of tenants) {
      const role = new iam.Role(this, `Target-${tenant}`, {
        roleName: `quilt-mcp-target-${tenant}`,
        assumedBy: tutorial
          // Mistake 1: one statement for both actions, sts:TagKeys (no such key) and
          // sts:SourceIdentity on sts:TagSession (which never sees it).
          ? task.withConditions({
              StringLike: { "sts:SourceIdentity": "usr-*" },
              "ForAllValues:StringEquals": { "sts:TagKeys": ["tenant"] },
            })
          : task.withConditions({
              StringLike: { "sts:SourceIdentity": "usr-*" },
              "ForAllValues:StringEquals": { "aws:TagKeys": ["tenant"] },
              StringEquals: { "aws:RequestTag/tenant": tenant },
            }),
      });
      if (tutorial) {
        role.assumeRolePolicy!.addStatements(new iam.PolicyStatement({
          actions: ["sts:TagSession"],
          principals: [task],
          conditions: {
            StringLike: { "sts:SourceIdentity": "usr-*" },
            "ForAllValues:StringEquals": { "sts:TagKeys": ["tenant"] },
          },
        }));
      } else {
        role.assumeRolePolicy!.addStatements(
          new iam.PolicyStatement({
            sid: "SetUsrSourceIdentity",
            actions: ["sts:SetSourceIdentity"],
            principals: [task],
            conditions: { StringLike: { "sts:SourceIdentity": "usr-*" } },
          }),
          new iam.PolicyStatement({
            sid: "TagOnlyTenant",
            actions: ["sts:TagSession"],
            principals: [task],
            conditions: {
              "ForAllValues:StringEquals": { "aws:TagKeys": ["tenant"] },
              StringEquals: { "aws:RequestTag/tenant": tenant },
            },
          }),
        );
        role.addManagedPolicy(tenantData!);
      }

      const bucket = new s3.Bucket(this, `Bucket-${tenant}`, { bucketName: `quilt-tenant-${tenant}` });
      bucket.addToResourcePolicy(tutorial
        // Mistake 4: Principal "*", the tag compared with itself, no account condition.
        ? new iam.PolicyStatement({
            principals: [new iam.AnyPrincipal()],
            actions: ["s3:GetObject", "s3:PutObject"],
            resources: ["arn:aws:s3:::quilt-tenant-${aws:PrincipalTag/tenant}/*"],
            conditions: { StringEquals: { "aws:PrincipalTag/tenant": "${aws:PrincipalTag/tenant}" } },
          })
        : new iam.PolicyStatement({
            sid: "DenyPrincipalsOutsideAccount",
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ["s3:*"],
            resources: [bucket.bucketArn, bucket.arnForObjects("*")],
            conditions: { StringNotEquals: { "aws:PrincipalAccount": this.account } },
          }));
    }
  }
}

const app = new App();
new McpStack(app, "McpStack", app.node.tryGetContext("variant") ?? "corrected");
app.synth();
