"""What a run produces: results, the run folder, exports, costs, file helpers."""
