"""The RAM API (``Version=2015-05-01``) on the RPC endpoint, over :class:`tidegate.ram.service.RamService`.

The actions live in :mod:`tidegate.api.ram_api_users` (users, AccessKeys, groups) and
:mod:`tidegate.api.ram_api_policies` (policies and versions, roles, attachments); their answers carry the
field names both official SDKs (``aliyun-python-sdk-ram``, ``alibabacloud-ram20150501``) parse. Errors are
RAM's codes and statuses (:mod:`tidegate.ram.errors`, mapped in :mod:`tidegate.api.rpc_errors`).
"""

from __future__ import annotations

from tidegate.api import ram_api_policies as _policies  # noqa: F401  (registers the actions)
from tidegate.api import ram_api_users as _users  # noqa: F401  (registers the actions)
from tidegate.api.ram_api_base import ACTIONS
from tidegate.api.rpc_product import RpcProduct

__all__ = ["RAM_API_VERSION", "RAM_PRODUCT"]

RAM_API_VERSION = "2015-05-01"

#: The RAM product: its policy code ``ram`` and its actions.
RAM_PRODUCT = RpcProduct("ram", ACTIONS)
