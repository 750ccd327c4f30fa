# The registries, offline with a mocked AWS provider (`terraform test`).

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

run "one_immutable_scanned_repository_per_service" {
  command = apply

  assert {
    condition     = toset(keys(output.repository_urls)) == toset(["poller", "processor", "publisher", "analytics"])
    error_message = "one repository per service image"
  }
  assert {
    condition     = alltrue([for r in values(output.wiring) : r.tag_mutability == "IMMUTABLE" && r.scan_on_push && r.encryption_type == "KMS"])
    error_message = "tags are immutable, images scanned on push, encrypted with KMS"
  }
  assert {
    condition     = alltrue([for k, r in output.wiring : r.name == "socialomega-${k}" && one([for rule in r.lifecycle_rules : rule.selection.countNumber if rule.selection.tagStatus == "any"]) == 30])
    error_message = "repositories are named socialomega-<service> and keep a bounded number of images"
  }
  assert {
    condition = alltrue([for r in values(output.wiring) :
      r.policy.Statement[0].Principal.Service == "lambda.amazonaws.com" &&
      r.policy.Statement[0].Condition.StringLike["aws:sourceArn"] == "arn:aws:lambda:eu-west-1:123456789012:function:socialomega-*" &&
    length(r.policy.Statement) == 1])
    error_message = "only this account's SocialOmega functions may pull"
  }
  assert {
    condition     = output.registry == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    error_message = "the registry host is the account's ECR endpoint"
  }
}
