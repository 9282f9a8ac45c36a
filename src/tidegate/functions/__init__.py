"""tidegate.functions."""
