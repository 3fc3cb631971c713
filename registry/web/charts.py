"""The charts' data: `?format=chart` on the model table (`/projects/<id>/`, `/models/`).

The sample is the table's whole filtered set (the same `registry.listing` pipeline as the rows,
so the same FilterSet, query and visibility), never the current page or the first rows of the
table's sort: up to CHART_CAP models, the newest first, with the total said when the cap is hit.

Only the chart's keys are read, each as its own JSON path in the SELECT (`KeyTransform`), so a
row costs its id, name, version and a few small values however large its dictionaries are.

The query string names the keys, in the spelling of registry.keypaths (`hp.optimizer.lr`):
    x=…, y=…        the scatter plot's axes (numbers or text: text gives a categorical axis)
    color=…         the key the points and lines are coloured by (a legend says how); by
                    default the Y axis, `color=none` for one colour
    col=…           the table's key columns, which are the parallel-coordinates axes
    xlog=1, ylog=1, log=<key>   log scales, chosen by the user; read by charts.js only
"""

from django.db.models.fields.json import KeyTransform

from registry import keypaths
from registry.links import Links
from registry.web.keys import NUMBER, TEXT, display, is_number, split_key
from registry.web.table_state import TableState

CHART_CAP = 5000  # models plotted; docs/architecture.md (Web UI) and the charts' note say so
MAX_CHART_KEYS = 16  # keys read per request: the table's columns and the three choices


def chart_key(name: str) -> tuple[str, tuple[str, ...]] | None:
    """(section, path parts) of a key such as `hp.optimizer.lr`, or None when it is not one."""
    parsed = split_key(name.strip()) if name else None
    if parsed is None:
        return None
    try:
        return parsed[0], keypaths.split(parsed[1])
    except keypaths.KeyPathError:
        return None


def canonical(name: str) -> str | None:
    parsed = chart_key(name)
    return f"{parsed[0]}.{keypaths.join(parsed[1])}" if parsed else None


def _expression(section: str, parts: tuple[str, ...]):
    expression = KeyTransform(parts[0], section)
    for part in parts[1:]:
        expression = KeyTransform(part, expression)
    return expression


def chart_choices(params, state: TableState) -> dict:
    """The keys the request asks to plot: the axes, the colour key and the parallel axes."""
    x = canonical(params.get("x", "")) or state.chart_x
    y = canonical(params.get("y", "")) or state.chart_y
    # Coloured by the Y axis (usually a metric) until the user picks a key or "none".
    color = y if params.get("color") is None else canonical(params["color"])
    axes = list(state.columns)
    keys = list(dict.fromkeys(k for k in (x, y, color, *axes) if k))[:MAX_CHART_KEYS]
    return {"x": x, "y": y, "color": color, "axes": [k for k in axes if k in keys], "keys": keys}


def chart_data(listing, state: TableState, params) -> dict:
    """Up to CHART_CAP models of the filtered set with the chosen keys' values, for charts.js."""
    choices = chart_choices(params, state)
    names = choices["keys"]
    parsed = [chart_key(name) for name in names]
    # The newest first: a sample that does not depend on how the table happens to be sorted, in
    # the order of the (created, id) indexes that serve the table's default sort, so the LIMIT
    # ends an index scan (by id, PostgreSQL read and sorted every row of a large project;
    # EXPLAIN on bench/charts.py's database).
    queryset = listing.queryset.order_by("-created", "-pk")
    found = list(
        queryset.values_list("id", "name", "version", *(_expression(s, p) for s, p in parsed))[: CHART_CAP + 1]
    )
    truncated = len(found) > CHART_CAP
    found = found[:CHART_CAP]

    seen: dict[str, list] = {name: [] for name in names}
    for row in found:
        for name, value in zip(names, row[3:], strict=True):
            if value is not None:
                seen[name].append(value)
    kinds = {name: NUMBER if values and all(is_number(v) for v in values) else TEXT for name, values in seen.items()}

    links = Links(None)
    points = []
    for row in found:
        values = {}
        for name, value in zip(names, row[3:], strict=True):
            if value is None:
                continue
            values[name] = value if kinds[name] == NUMBER else display(value)
        points.append(
            {
                "id": row[0],
                "label": f"{row[1]} v{row[2]}",
                "url": links.url("registry:model_detail", row[0]),
                "values": values,
            }
        )
    keys = []
    for name, (section, parts) in zip(names, parsed, strict=True):
        key = {"name": name, "section": section, "parts": list(parts), "kind": kinds[name]}
        if kinds[name] == TEXT:
            key["categories"] = sorted({p["values"][name] for p in points if name in p["values"]})
        keys.append(key)
    return {
        **{k: choices[k] for k in ("x", "y", "color", "axes")},
        "keys": keys,
        "points": points,
        "count": len(points),
        "total": listing.total() if truncated else len(points),
        "cap": CHART_CAP,
        "truncated": truncated,
    }
