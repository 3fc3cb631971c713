"""Evaluating alias rules."""

from fnmatch import fnmatchcase


def pattern_matches(pattern: str, alias: str) -> bool:
    return fnmatchcase(alias, pattern)
