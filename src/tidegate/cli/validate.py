"""``tidegate validate PATH...`` (written by the flow-language work)."""
