"""tidegate.api."""
