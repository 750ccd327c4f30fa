"""The targets of terraform/envs/aws/terraform.tfvars.example (JSON on stdin, as Terraform
writes them to SSM) pass the services' own validation: each platform's settings model, the
REST endpoint model and the variant specs. Run by terraform/bin/tf-check with the project's
virtualenv."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services"))

from socialomega import platforms  # noqa: E402
from socialomega.processor.specs import parse_specs  # noqa: E402


def main() -> None:
    targets = json.loads(sys.stdin.read())
    for target in targets:
        platforms.get(target["platform"]).settings(target)
    specs = parse_specs(json.dumps(targets))
    print(f"ok: the example's {len(targets)} targets pass the publishers' settings models and "
          f"give variant specs for {', '.join(s.target for s in specs)}")


if __name__ == "__main__":
    main()
