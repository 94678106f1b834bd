"""Write the Zabbix 6.0 template generated from infra/zabbix_items.py (infra/zabbix_template.py).

python -m tools.zabbix_template            # writes zabbix/aktienanalyse-template.yaml
python -m tools.zabbix_template --print    # the agent's UserParameter file, to stdout
"""

from __future__ import annotations

import argparse
import sys

from infra.zabbix_items import user_parameters_text
from infra.zabbix_template import TEMPLATE_FILE, template_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The Zabbix template of USER_PARAMETERS")
    parser.add_argument("--print", action="store_true", help="print the UserParameter file")
    args = parser.parse_args(argv)
    if args.print:
        sys.stdout.write(user_parameters_text())
        return 0
    TEMPLATE_FILE.parent.mkdir(exist_ok=True)
    TEMPLATE_FILE.write_text(template_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
