"""Renderers: turn report objects into terminal output (rich) or files."""
