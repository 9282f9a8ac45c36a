"""Identity defaults and the resource-name rule (leaf module: imports nothing of tidegate).

The region and account id a server uses when none is configured, and the name rule that flows, steps,
executions, services and functions share.
"""

from __future__ import annotations

import re

#: Region used in ARNs, function contexts and the RPC error answer when ``TIDEGATE_REGION`` is unset.
DEFAULT_REGION = "cn-hangzhou"
#: Account id used in ARNs and URLs when ``TIDEGATE_ACCOUNT_ID`` is unset (the MNS docs' example id).
DEFAULT_ACCOUNT_ID = "1234567890123456"

#: The longest name (flow, step, execution, service, function).
NAME_MAX = 128
#: A name: a letter or underscore, then letters, digits, ``_`` or ``-``; at most :data:`NAME_MAX` characters.
NAME_PATTERN = rf"[A-Za-z_][A-Za-z0-9_-]{{0,{NAME_MAX - 1}}}"
NAME_RE = re.compile(NAME_PATTERN)
