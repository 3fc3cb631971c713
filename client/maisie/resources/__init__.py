"""The API's resources: models, projects, users and workspaces."""
