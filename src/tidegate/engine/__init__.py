"""tidegate.engine."""
