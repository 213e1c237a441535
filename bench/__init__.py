"""Benchmarks (`make bench`): measured on a real Synapse with the Ollama double, with
ratios against a baseline measured in the same run. Figures go to docs/PERFORMANCE.md."""
