"""Views of a project's model table kept on the server: each user's last one, and named ones."""
