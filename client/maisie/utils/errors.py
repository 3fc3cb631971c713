"""The 0.1.6 client's error names, kept so existing `except` clauses still work.

New code imports from :mod:`maisie.errors`.
"""

from maisie.errors import AuthenticationError, ConfigurationError

#: 0.1.6: "Configuration either could not be initialized or was not provided."
ConfigInitializationError = ConfigurationError
#: 0.1.6: "Authentication Manager object could not be initialized."
AuthInitializationError = AuthenticationError

__all__ = ["AuthInitializationError", "AuthenticationError", "ConfigInitializationError"]
