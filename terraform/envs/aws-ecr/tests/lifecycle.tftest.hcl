# The ECR lifecycle rules, offline with a mocked AWS provider (`terraform test`): no rule may
# ever expire an image a deploy marked as running, whatever the environments and counts.

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

variables {
  environments         = ["staging", "prod"]
  keep_per_environment = 5
  untagged_expire_days = 3
  keep_images          = 40
}

run "deployed_images_are_protected_before_any_rule_that_expires" {
  command = apply

  assert {
    condition     = length(distinct([for r in values(output.wiring) : jsonencode(r.lifecycle_rules)])) == 1
    error_message = "every repository has the same rules"
  }
  assert {
    condition = output.wiring["poller"].lifecycle_rules[0] == {
      rulePriority = 1
      description  = "Never expire an image a deploy marked as running (deployed-<env>-*)"
      selection    = { tagStatus = "tagged", tagPatternList = ["deployed-*"], countType = "imageCountMoreThan", countNumber = 9999 }
      action       = { type = "expire" }
    }
    error_message = "rule 1 (the first applied) selects every deployed-* image and keeps 9999 of them"
  }
  assert {
    condition     = [for r in output.wiring["poller"].lifecycle_rules : r.rulePriority] == [1, 10, 11, 900, 1000]
    error_message = "rules are listed by ascending priority (ECR reorders them otherwise: perpetual diff), deployed first, any last"
  }
  assert {
    condition     = length([for r in output.wiring["poller"].lifecycle_rules : r if strcontains(jsonencode(r.selection), "deployed")]) == 1
    error_message = "only the protecting rule names deployed-* tags"
  }
}

run "each_environment_keeps_its_own_newest_images" {
  command = apply

  assert {
    condition = [for r in output.wiring["publisher"].lifecycle_rules : r.selection if r.rulePriority >= 10 && r.rulePriority < 900] == [
      { tagStatus = "tagged", tagPatternList = ["prod-*"], countType = "imageCountMoreThan", countNumber = 5 },
      { tagStatus = "tagged", tagPatternList = ["staging-*"], countType = "imageCountMoreThan", countNumber = 5 },
    ]
    error_message = "one rule per environment, its <env>-* images, keep_per_environment of them"
  }
  assert {
    condition     = one([for r in output.wiring["publisher"].lifecycle_rules : r.selection if r.selection.tagStatus == "untagged"]) == { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 3 }
    error_message = "untagged images expire after untagged_expire_days"
  }
  assert {
    condition     = output.wiring["publisher"].lifecycle_rules[4].selection == { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 40 }
    error_message = "the catch-all rule (last) keeps keep_images"
  }
  assert {
    condition     = output.image_tags.environments == tolist(["prod", "staging"]) && output.image_tags.deployed_prefix == "deployed-"
    error_message = "the deploy learns the tag scheme and the environments with rules"
  }
}

run "no_environments_still_protects_deployed_images" {
  command = apply
  variables {
    environments = []
  }
  assert {
    condition     = [for r in output.wiring["analytics"].lifecycle_rules : r.rulePriority] == [1, 900, 1000]
    error_message = "without environment rules: protection, untagged, catch-all"
  }
}

run "overlapping_environment_names_are_refused" {
  command = plan
  variables {
    environments = ["prod", "prod-eu"]
  }
  expect_failures = [var.environments]
}

run "the_deployed_prefix_is_not_an_environment" {
  command = plan
  variables {
    environments = ["deployed"]
  }
  expect_failures = [var.environments]
}

run "counts_are_whole_and_positive" {
  command = plan
  variables {
    keep_per_environment = 0
    untagged_expire_days = 0.5
  }
  expect_failures = [var.keep_per_environment, var.untagged_expire_days]
}
