"""Identity defaults and the resource-name rule (leaf module: imports nothing of tidegate).

The region and account id a server uses when none is configured, the name rule that flows, steps,
executions, services and functions share, the one of queues and topics, and the lengths of error names
and causes.
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

#: Longest queue, topic or subscription name. Newer MNS docs say 120, older 256: accepting 256 keeps programs
#: written against the older docs working.
MNS_NAME_MAX = 256
#: A queue, topic or subscription name: letters, digits and hyphens, a letter or digit first.
MNS_NAME_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9-]{{0,{MNS_NAME_MAX - 1}}}"
MNS_NAME_RE = re.compile(MNS_NAME_PATTERN)

#: The longest error name: a Fail step's, one in a retry or catch list, a task's reported failure, a stop.
MAX_ERROR_LENGTH = 128
#: The longest cause that goes with an error.
MAX_CAUSE_LENGTH = 4096
