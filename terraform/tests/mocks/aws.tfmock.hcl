# Shared mocked-AWS values for `terraform test` in both roots. The provider validates ARNs
# even when mocked, so every resource whose ARN another one consumes gets a well-formed one.

mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}
mock_data "aws_partition" {
  defaults = { partition = "aws" }
}
mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}
mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
}
mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:mock-topic" }
}
mock_resource "aws_sqs_queue" {
  defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:mock-queue", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mock-queue" }
}
mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock"
    invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock/invocations"
  }
}
mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
}
mock_resource "aws_api_gateway_rest_api" {
  defaults = { id = "mockapi", root_resource_id = "mockroot", execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:mockapi" }
}
mock_resource "aws_api_gateway_stage" {
  defaults = { invoke_url = "https://mockapi.execute-api.eu-west-1.amazonaws.com/v1" }
}
mock_resource "aws_cloudwatch_event_bus" {
  defaults = { arn = "arn:aws:events:eu-west-1:123456789012:event-bus/mock" }
}
mock_resource "aws_cloudwatch_event_rule" {
  defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/mock" }
}
mock_resource "aws_s3_bucket" {
  defaults = { arn = "arn:aws:s3:::mock-bucket" }
}
mock_resource "aws_ssm_parameter" {
  defaults = { arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/mock" }
}
mock_resource "aws_ecr_repository" {
  defaults = { repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mock" }
}
