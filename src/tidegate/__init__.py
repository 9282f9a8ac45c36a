"""tidegate: self-hostable Serverless Workflow with a built-in MNS-compatible message service."""

__version__ = "0.1.0.dev0"
