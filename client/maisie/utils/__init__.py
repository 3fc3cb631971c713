"""Helpers of the Maisie client: authentication, git, HTTP, transfers."""
