"""Experiments: paired comparison of a scenario against baseline, guardrails and the report."""
