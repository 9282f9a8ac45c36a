"""tidegate.mq."""
