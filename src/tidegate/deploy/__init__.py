"""Deployed functions and deploy files: the function registry, the server's function host,
HTTP-trigger plumbing, and ``tidegate deploy`` / ``destroy``. See ``docs/deploy.md``.
"""

from __future__ import annotations

from tidegate.deploy.apply import Deployer, DeployError, Step
from tidegate.deploy.errors import DeployFileError, FunctionNotExists, InvalidFunction, RequirementsFailed
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.registry import FunctionRecord, FunctionRegistry
from tidegate.deploy.spec import DeployFile, load_deploy_file
from tidegate.urls import local_url

__all__ = [
    "DeployError",
    "DeployFile",
    "DeployFileError",
    "Deployer",
    "FunctionHost",
    "FunctionNotExists",
    "FunctionRecord",
    "FunctionRegistry",
    "InvalidFunction",
    "RequirementsFailed",
    "Step",
    "load_deploy_file",
    "local_url",
]
