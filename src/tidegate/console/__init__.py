"""tidegate.console."""
