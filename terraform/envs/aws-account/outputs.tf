output "cloudwatch_role_arn" {
  description = "The role API Gateway uses for CloudWatch Logs in this account and region (what the preflight reads back from apigateway get-account)."
  value       = aws_api_gateway_account.this.cloudwatch_role_arn
}

output "wiring" {
  description = "Settings checked by `terraform test`."
  value = {
    trust       = jsondecode(aws_iam_role.apigateway_cloudwatch.assume_role_policy)
    policy_arn  = aws_iam_role_policy_attachment.apigateway_cloudwatch.policy_arn
    attached_to = aws_iam_role_policy_attachment.apigateway_cloudwatch.role
    role_arn    = aws_iam_role.apigateway_cloudwatch.arn
  }
}
