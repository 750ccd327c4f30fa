variable "region" {
  description = "Region whose API Gateway account settings are set (they are per account and region): the functions' region. null: the AWS CLI/SDK default. terraform/bin/deploy passes -var region=$AWS_REGION."
  type        = string
  default     = null
}

variable "role_name" {
  description = "Name of the IAM role API Gateway assumes to write execution and access logs to CloudWatch Logs. null: socialomega-apigateway-cloudwatch-<region>. IAM names are account-wide while this root's state is per account and region, so the default names the region: a second region gets its own role instead of failing on the first region's."
  type        = string
  default     = null
}
