"""``python -m rigconsole.plans.psyrun PLAN OUT.psyrun``: export a session plan to PsychoPy Runner's
task list (``[{"path", "file", "runMode"}]``; see :func:`rigconsole.plans.plan.to_psyrun`).
Exit 0, or 2 with one line on stderr for a bad plan or an unwritable file."""

from __future__ import annotations

import json
import sys

from .plan import PlanError, load_plan, to_psyrun


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m rigconsole.plans.psyrun PLAN.yaml OUT.psyrun", file=sys.stderr)
        return 2
    try:
        tasks = to_psyrun(load_plan(argv[0]))
        with open(argv[1], "w", encoding="utf-8") as f:
            json.dump(tasks, f, indent=1)
    except PlanError as err:
        print(f"rigconsole: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"rigconsole: cannot write {argv[1]}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"wrote {len(tasks)} tasks to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
