"""The 0.1.6 entry point's module name (`maisie.interface:cli`), kept for old launch scripts."""

from maisie.cli import cli, main

__all__ = ["cli", "main"]
