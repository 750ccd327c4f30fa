# Account-level settings SocialOmega needs, once per account and region, and shared with
# everything else in the account: API Gateway's CloudWatch Logs role. Without it, creating a
# stage with access logging (the webhook API, terraform/modules/webhook_api) fails with
# "CloudWatch Logs role ARN must be set in account settings to enable logging".
#
# Account-wide, and another stack may already manage it: terraform/bin/deploy applies this root
# only when asked (MANAGE_APIGW_ACCOUNT=1, or make account-setup), and its preflight checks the
# setting before anything is created. The role and policy are the ones AWS documents for this
# setting: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
# (trusted by apigateway.amazonaws.com, AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs).

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  role_name = coalesce(var.role_name, "socialomega-apigateway-cloudwatch-${data.aws_region.current.name}")
}

resource "aws_iam_role" "apigateway_cloudwatch" {
  name        = local.role_name
  description = "API Gateway writes execution and access logs to CloudWatch Logs (account setting, managed by SocialOmega terraform/envs/aws-account)."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "apigateway_cloudwatch" {
  role       = aws_iam_role.apigateway_cloudwatch.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  cloudwatch_role_arn = aws_iam_role.apigateway_cloudwatch.arn
  # Destroying this root leaves the setting naming a role that no longer exists (provider 5's
  # behaviour; reset_on_delete is deprecated): point it at another role first if others log.
  depends_on = [aws_iam_role_policy_attachment.apigateway_cloudwatch]
}
