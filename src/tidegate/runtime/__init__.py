"""tidegate.runtime."""
