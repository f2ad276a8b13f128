"""Print the rig file's JSON Schema: ``python -m rigconsole.instruments.schema > docs/rig-file.schema.json``.

tests/instruments/test_rig_file.py checks that the published file is current.
"""

from __future__ import annotations

import json
import sys

from .config import rig_file_schema


def main() -> int:
    print(json.dumps(rig_file_schema(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
