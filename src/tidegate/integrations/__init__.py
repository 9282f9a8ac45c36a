"""tidegate.integrations."""
