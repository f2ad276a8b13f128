"""``python -m rigconsole.plans.schema``: print the plan file's JSON Schema (docs/plan-file.schema.json)."""

import json

from .plan import plan_file_schema

if __name__ == "__main__":
    print(json.dumps(plan_file_schema(), indent=2))
