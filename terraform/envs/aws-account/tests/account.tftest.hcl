# The account-level root, offline with a mocked AWS provider (`terraform test`).

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

run "api_gateway_logs_through_a_role_only_api_gateway_may_assume" {
  command = apply
  variables {
    region = "eu-west-1"
  }
  override_data {
    target = data.aws_region.current
    values = { name = "eu-west-1" }
  }

  assert {
    condition     = aws_api_gateway_account.this.cloudwatch_role_arn == aws_iam_role.apigateway_cloudwatch.arn
    error_message = "the account setting names this root's role"
  }
  assert {
    condition     = output.cloudwatch_role_arn == output.wiring.role_arn
    error_message = "the output is the role the setting names"
  }
  assert {
    condition = (
      length(output.wiring.trust.Statement) == 1 &&
      output.wiring.trust.Statement[0].Effect == "Allow" &&
      output.wiring.trust.Statement[0].Principal == { Service = "apigateway.amazonaws.com" } &&
      output.wiring.trust.Statement[0].Action == "sts:AssumeRole"
    )
    error_message = "only API Gateway may assume the role"
  }
  assert {
    condition     = output.wiring.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs" && output.wiring.attached_to == "socialomega-apigateway-cloudwatch-eu-west-1"
    error_message = "the role, named after its region (IAM names are account-wide, this root's state is per region), has AWS's managed policy for API Gateway logging, and nothing else"
  }
}

run "the_role_name_is_configurable" {
  command = plan
  variables {
    role_name = "other-apigw-logs"
  }
  assert {
    condition     = aws_iam_role.apigateway_cloudwatch.name == "other-apigw-logs"
    error_message = "role_name names the role"
  }
}
