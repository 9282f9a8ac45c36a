"""tidegate beside the peers a user would pick instead, on the same callback workload (``bench/peers/run.py``)."""
