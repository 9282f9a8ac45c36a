"""tidegate.store."""
