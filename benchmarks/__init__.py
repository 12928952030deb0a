"""safeload benchmarks: ``python -m benchmarks [--quick] [names...]`` runs every ``bench_*.py`` in turn."""
