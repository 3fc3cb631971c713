"""Protected aliases in the web UI: alias moves and promotion requests on the registered-model
page and the dashboard, and the alias rules on the project's settings page. Every write goes
through promotions.services."""
