# The pattern's IAM: the MCP server's ECS task role, one target role per tenant that the task
# role assumes with the user's source identity and tenant tag, and one bucket per tenant.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "variant" {
  type = string
}

variable "tenants" {
  type = list(string)
}

data "aws_caller_identity" "current" {}

locals {
  acct          = data.aws_caller_identity.current.account_id
  task_role_arn = "arn:aws:iam::${local.acct}:role/ecsTaskRole"
  tutorial      = var.variant == "tutorial"
}

resource "aws_iam_role" "task" {
  name = "ecsTaskRole"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EcsTasksAssumeTheTaskRole"
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# Mistake 2: without sts:SetSourceIdentity no AssumeRole that passes a source identity succeeds.
resource "aws_iam_role_policy" "task_assume_targets" {
  name = "assume-target-roles"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "AssumeTargetRolesWithIdentityAndTags"
      Effect = "Allow"
      Action = contains(["tutorial", "task-no-set-source-identity"], var.variant) ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
      Resource = "arn:aws:iam::${local.acct}:role/quilt-mcp-target-*"
    }]
  })
}

# The corrected trust policy: one statement per action, each conditioned on that action's keys.
data "aws_iam_policy_document" "target_trust" {
  for_each = toset(var.tenants)
  statement {
    sid     = "AssumeForOneUserOfOneTenant"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [local.task_role_arn]
    }
    condition {
      test     = "StringLike"
      variable = "sts:SourceIdentity"
      values   = ["usr-*"]
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["tenant"]
    }
    dynamic "condition" {
      # Without it, a tenant's role takes another tenant's tag.
      for_each = var.variant == "trust-no-tenant-pin" ? [] : [each.key]
      content {
        test     = "StringEquals"
        variable = "aws:RequestTag/tenant"
        values   = [condition.value]
      }
    }
  }
  statement {
    sid     = "SetUsrSourceIdentity"
    effect  = "Allow"
    actions = ["sts:SetSourceIdentity"]
    principals {
      type        = "AWS"
      identifiers = [local.task_role_arn]
    }
    condition {
      test     = "StringLike"
      variable = "sts:SourceIdentity"
      values   = ["usr-*"]
    }
  }
  statement {
    sid     = "TagOnlyTenant"
    effect  = "Allow"
    actions = ["sts:TagSession"]
    principals {
      type        = "AWS"
      identifiers = [local.task_role_arn]
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["tenant"]
    }
    dynamic "condition" {
      for_each = var.variant == "trust-no-tenant-pin" ? [] : [each.key]
      content {
        test     = "StringEquals"
        variable = "aws:RequestTag/tenant"
        values   = [condition.value]
      }
    }
  }
}

# Mistake 1, as the tutorial writes it: one statement for both actions, sts:TagKeys (no such
# key) and sts:SourceIdentity on sts:TagSession (which never sees it).
locals {
  single_statement_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = local.task_role_arn }
      Action    = local.tutorial ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
      Condition = {
        StringLike                  = { "sts:SourceIdentity" = "usr-*" }
        "ForAllValues:StringEquals" = { "sts:TagKeys" = ["tenant"] }
      }
    }]
  })
}

resource "aws_iam_role" "target" {
  for_each             = toset(var.tenants)
  name                 = "quilt-mcp-target-${each.key}"
  max_session_duration = 3600
  assume_role_policy   = contains(["tutorial", "trust-single-statement"], var.variant) ? local.single_statement_trust : data.aws_iam_policy_document.target_trust[each.key].json
  tags = {
    tenant = each.key
  }
}

# The tutorial gives the target roles no identity policy: its bucket policy grants to "*".
resource "aws_iam_policy" "tenant_data" {
  count = local.tutorial ? 0 : 1
  name  = "quilt-mcp-tenant-data"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListOwnTenantBucket"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = "arn:aws:s3:::quilt-tenant-$${aws:PrincipalTag/tenant}"
      },
      {
        Sid      = "ReadWriteOwnTenantObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = "arn:aws:s3:::quilt-tenant-$${aws:PrincipalTag/tenant}/*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "tenant_data" {
  for_each   = local.tutorial ? toset([]) : toset(var.tenants)
  role       = aws_iam_role.target[each.key].name
  policy_arn = aws_iam_policy.tenant_data[0].arn
}

resource "aws_s3_bucket" "tenant" {
  for_each = toset(var.tenants)
  bucket   = "quilt-tenant-${each.key}"
}

# Mistake 4: Principal "*", the tag compared with itself, no account condition.
resource "aws_s3_bucket_policy" "tenant" {
  for_each = toset(var.tenants)
  bucket   = aws_s3_bucket.tenant[each.key].id
  policy = contains(["tutorial", "bucket-any-account"], var.variant) ? jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = ["s3:GetObject", "s3:PutObject"]
      Resource  = "arn:aws:s3:::quilt-tenant-$${aws:PrincipalTag/tenant}/*"
      Condition = { StringEquals = { "aws:PrincipalTag/tenant" = "$${aws:PrincipalTag/tenant}" } }
    }]
    }) : jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyPrincipalsOutsideAccount"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::quilt-tenant-${each.key}", "arn:aws:s3:::quilt-tenant-${each.key}/*"]
      Condition = { StringNotEquals = { "aws:PrincipalAccount" = local.acct } }
    }]
  })
}
