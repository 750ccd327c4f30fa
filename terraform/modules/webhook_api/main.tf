# The engagement webhook endpoint: an API Gateway REST API (v1, regional endpoint) in front
# of one Lambda function, `GET|POST <invoke_url>/webhooks/{platform}` (AWS_PROXY). GET answers
# the platforms' subscription challenges, POST takes their signed notifications.
#
# No authorizer, no API key: Meta, X and LinkedIn call webhooks without any credential API
# Gateway could check. Each signs its requests instead (HMAC-SHA256 with the app secret) and the
# function verifies the signature, with the keys in Secrets Manager socialomega/<env>/webhooks,
# before it reads the body. The stage throttles every method (aws_api_gateway_method_settings).
#
# Prerequisite, NOT managed here: API Gateway writes access and execution logs to CloudWatch
# Logs with the account's API Gateway CloudWatch role (resource aws_api_gateway_account, one
# setting per account and region, shared by every REST API there). A per-environment module
# must not own it: two environments in one account would both claim it, and it belongs to none
# of them. Until it is set, creating the stage fails with "CloudWatch Logs role ARN must be set
# in account settings to enable logging". Set it once per account and region (check with
# `aws apigateway get-account`):
#   aws iam create-role --role-name apigateway-cloudwatch-logs --assume-role-policy-document \
#     '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
#   aws iam attach-role-policy --role-name apigateway-cloudwatch-logs \
#     --policy-arn arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs
#   aws apigateway update-account --patch-operations \
#     op=replace,path=/cloudwatchRoleArn,value=arn:aws:iam::<account-id>:role/apigateway-cloudwatch-logs

locals {
  methods = toset(["GET", "POST"])
  # One JSON line per request. Never headers, query string or body: they carry signatures and
  # Meta's hub.verify_token; resourcePath is the template /webhooks/{platform}.
  access_log_format = jsonencode({
    requestId      = "$context.requestId"
    ip             = "$context.identity.sourceIp"
    httpMethod     = "$context.httpMethod"
    resourcePath   = "$context.resourcePath"
    status         = "$context.status"
    responseLength = "$context.responseLength"
    requestTime    = "$context.requestTime"
  })
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = "SocialOmega engagement webhooks: GET|POST /webhooks/{platform}."
  endpoint_configuration {
    types = ["REGIONAL"]
  }
  tags = var.tags
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "webhooks" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "webhooks"
}

resource "aws_api_gateway_resource" "platform" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.webhooks.id
  path_part   = "{platform}"
}

# Rejects a request without its required parameters (the platform) before the function runs;
# the body is checked by the function, against the platform's signature.
resource "aws_api_gateway_request_validator" "parameters" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "required-parameters"
  validate_request_parameters = true
  validate_request_body       = false
}

resource "aws_api_gateway_method" "this" {
  # checkov:skip=CKV_AWS_59:Public webhook receiver: the platforms (Meta, X, LinkedIn) call it without any credential API Gateway could check (no IAM, Cognito, JWT or API key). Each signs its requests; the function verifies the HMAC signature with the keys in socialomega/<env>/webhooks before reading the body, and answers the GET challenges only with those keys. The stage throttles every method.
  for_each             = local.methods
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.platform.id
  http_method          = each.key
  authorization        = "NONE"
  request_validator_id = aws_api_gateway_request_validator.parameters.id
  request_parameters   = { "method.request.path.platform" = true }
}

resource "aws_api_gateway_integration" "this" {
  for_each                = aws_api_gateway_method.this
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.platform.id
  http_method             = each.value.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST" # Lambda is always invoked with POST, whatever the method
  uri                     = var.function_invoke_arn
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "SocialOmega engagement webhooks"
  # A REST API serves a deployment (a snapshot), not its current definition: deploy again
  # whenever a route, method, validator or integration changes.
  triggers = {
    redeployment = sha1(jsonencode({
      resources = [aws_api_gateway_resource.webhooks.id, aws_api_gateway_resource.platform.id, aws_api_gateway_resource.platform.path_part]
      validator = [aws_api_gateway_request_validator.parameters.id, aws_api_gateway_request_validator.parameters.validate_request_parameters]
      methods = { for k, m in aws_api_gateway_method.this : k => [
        m.id, m.authorization, m.api_key_required, m.request_validator_id, m.request_parameters,
      ] }
      integrations = { for k, i in aws_api_gateway_integration.this : k => [
        i.id, i.type, i.integration_http_method, i.uri, i.timeout_milliseconds,
      ] }
    }))
  }
  lifecycle {
    create_before_destroy = true
  }
  depends_on = [aws_api_gateway_method.this, aws_api_gateway_integration.this]
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# API Gateway writes execution logs (logging_level below) to this fixed name and would create
# it without a retention: created here first, with one.
resource "aws_cloudwatch_log_group" "execution" {
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  # checkov:skip=CKV_AWS_120:Webhook notifications must never be cached: every POST is a distinct signed notification and every GET challenge carries a fresh nonce to echo; a cached answer would drop engagement or fail verification.
  # checkov:skip=CKV2_AWS_51:A stage client certificate authenticates API Gateway to an HTTP backend; the integration here is a Lambda proxy (AWS_PROXY), invoked through the Lambda API under the function's resource policy (aws_lambda_permission.api), which has no use for it. The platforms calling in cannot present client certificates (mTLS would need a custom domain and their support).
  # checkov:skip=CKV2_AWS_29:No WAF: the endpoint accepts only requests the function can verify against the platform's HMAC signature, the stage throttles every method and API Gateway returns 429 beyond that, so no volumetric protection needed yet. If needed: an aws_wafv2_web_acl (REGIONAL scope) with a rate-based rule and AWSManagedRulesCommonRuleSet, attached with aws_wafv2_web_acl_association to this stage's ARN (5 USD a month per web ACL, 1 USD per rule, plus request fees).
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "SocialOmega engagement webhooks"
  xray_tracing_enabled = true
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }
  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.execution]
}

resource "aws_api_gateway_method_settings" "all" {
  # checkov:skip=CKV_AWS_225:Caching is off on purpose (caching_enabled = false): webhook notifications and challenges must reach the function every time (see CKV_AWS_120 on the stage).
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"
  settings {
    metrics_enabled        = true
    logging_level          = var.execution_logging_level
    data_trace_enabled     = false # would log full requests: signatures and verify tokens
    caching_enabled        = false
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowWebhookApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  principal     = "apigateway.amazonaws.com"
  # This API's stage only, its methods (GET and POST are the only ones), routes under /webhooks/.
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/*/webhooks/*"
}
