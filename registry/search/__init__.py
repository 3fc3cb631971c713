"""The search language of `q=` and `ordering=`: text → tokens → syntax tree → ORM expressions.

lexer.py and parser.py read the text (parser.py's docstring has the grammar), fields.py is the
allow-list of what a query may name, compiler.py builds Q objects and orderings, and
expressions.py holds the typed JSON SQL for PostgreSQL and SQLite. docs/search.md is the
user's guide.
"""

from registry.search.errors import QueryError

__all__ = ["QueryError"]
