"""tidegate.auth."""
