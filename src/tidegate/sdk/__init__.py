"""tidegate.sdk."""
