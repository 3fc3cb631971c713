"""The web UI (server-rendered HTML): views/, forms.py, urls.py, and the model table's parts.

table_state.py reads the table's query string, keys.py lists the JSON keys a user may pick,
exports.py builds the rows and the CSV export, charts.py the charts' data. Reads start from
`visible_to`, writes call registry.services, links come from registry.links (shared with the API).
"""
