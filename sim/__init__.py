"""Preflight's simulated Q&A site: the Mesa model, its mechanics, metrics and CLI."""
