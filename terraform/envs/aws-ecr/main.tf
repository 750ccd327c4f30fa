# The container registries of SocialOmega: one ECR repository per service image, applied by
# terraform/bin/deploy before images are pushed and envs/aws pins them by digest. A root of
# its own because the images must exist before envs/aws can plan its functions.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

resource "aws_ecr_repository" "this" {
  for_each = toset(var.services)
  name     = "${var.repository_prefix}-${each.key}"
  # A tag, once pushed, always names the same image: a redeploy of a tag cannot change code.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  # KMS with the AWS managed key (aws/ecr); set kms_key to use a customer managed key.
  encryption_configuration {
    encryption_type = "KMS"
  }
}

# Which images expire. Images are shared by every environment of the account, so "the newest
# N" alone could expire the image an environment still runs (a rollback to an old commit, or an
# environment that deploys rarely while another pushes often). The rules, by ECR's documented
# semantics (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html,
# "Lifecycle policy evaluation rules"; properties: .../lifecycle_policy_parameters.html):
# * rules apply lowest rulePriority first; "an image that matches the tagging requirements of a
#   rule cannot be expired by a rule with a lower priority" (quoted from that page by
#   https://repost.aws/questions/QUV2rouOhOTG-whm2R4KWqXw; the same list in Pulumi's
#   LifecyclePolicyRule reference), while lower rules still count it when ranking ("rules can
#   never mark images that are marked by higher priority rules, but can still identify them");
# * imageCountMoreThan ranks by push time (pushed_at_time), newest first, and expires the rest;
#   sinceImagePushed expires what was pushed more than countNumber days ago;
# * a tagPatternList selects an image when every pattern matches one of its tags (so one pattern
#   per rule here); the single tagStatus=any rule must have the highest rulePriority.
# Hence:
# 1. every image carrying a deployed-* tag matches a rule that keeps 9999 of them: deploys mark
#    one image per environment (two between an apply and its cleanup), so it never expires one,
#    and no lower rule may (the "keep 9999" protection is the documented idiom: AWS CDK's
#    LifecycleRule example, and the answer by the author of ECR's rule evaluation at
#    https://stackoverflow.com/questions/51375318);
# 2. per environment, the newest keep_per_environment images tagged <env>-* (rollback targets);
# 3. untagged images (interrupted pushes, orphans) after untagged_expire_days;
# 4. everything else (tags of older deploys, environments not listed) beyond the newest
#    keep_images of the repository, the behaviour before these rules.
# The tags terraform/bin/deploy pushes are in output image_tags. UNCONFIRMED (not in the
# documentation): that adding a tag to an existing image (PutImage of its manifest) leaves its
# push time alone; nothing above depends on it.
locals {
  deployed_tag_prefix = "deployed-"
  # Far more images than deploys ever mark at once: in effect "never expire".
  deployed_keep = 9999
  lifecycle_rules = concat(
    [{
      rulePriority = 1
      description  = "Never expire an image a deploy marked as running (deployed-<env>-*)"
      selection    = { tagStatus = "tagged", tagPatternList = ["${local.deployed_tag_prefix}*"], countType = "imageCountMoreThan", countNumber = local.deployed_keep }
      action       = { type = "expire" }
    }],
    [for i, env in sort(var.environments) : {
      rulePriority = 10 + i
      description  = "Keep the newest ${var.keep_per_environment} images of ${env} (${env}-<commit>)"
      selection    = { tagStatus = "tagged", tagPatternList = ["${env}-*"], countType = "imageCountMoreThan", countNumber = var.keep_per_environment }
      action       = { type = "expire" }
    }],
    [
      {
        rulePriority = 900
        description  = "Expire untagged images after ${var.untagged_expire_days} days"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = var.untagged_expire_days }
        action       = { type = "expire" }
      },
      {
        rulePriority = 1000
        description  = "Keep the newest ${var.keep_images} of any other images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.keep_images }
        action       = { type = "expire" }
      },
    ],
  )
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each   = aws_ecr_repository.this
  repository = each.value.name
  policy     = jsonencode({ rules = local.lifecycle_rules })
}

# Lambda pulls the image with the service principal: allow it for this account's
# SocialOmega functions only.
resource "aws_ecr_repository_policy" "this" {
  for_each   = aws_ecr_repository.this
  repository = each.value.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaPull"
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Condition = {
        StringLike = {
          "aws:sourceArn" = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${var.function_name_prefix}*"
        }
      }
    }]
  })
}
