"""tidegate benchmarks (``make bench``); figures go to bench/README.md."""
