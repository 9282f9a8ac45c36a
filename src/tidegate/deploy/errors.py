"""Errors of deployed functions and deploy files (all under the one tidegate hierarchy)."""

from __future__ import annotations

from tidegate.errors import ConfigurationError, FunctionError, NotFoundError

__all__ = ["DeployFileError", "FunctionNotExists", "InvalidFunction", "RequirementsFailed", "ServiceNotExists"]


class FunctionNotExists(NotFoundError):
    """The function does not exist."""

    code = "FunctionNotExists"


class ServiceNotExists(NotFoundError):
    """The service does not exist."""

    code = "ServiceNotExists"


class InvalidFunction(FunctionError):
    """The function definition is not valid."""

    code = "InvalidArgument"


class RequirementsFailed(FunctionError):
    """The function's requirements could not be installed."""

    code = "InvalidArgument"


class DeployFileError(ConfigurationError):
    """The deploy file is not valid."""

    code = "InvalidDeployFile"
