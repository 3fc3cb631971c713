"""`/models/compare/`: models side by side against a baseline, the best value of each metric marked."""

import json
import re

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.views.generic import TemplateView

from registry import keypaths
from registry.models import MLModel
from registry.querysets import attach_tags
from registry.web.keys import SECTION_LABELS, SECTIONS, display, is_number

MAX_COMPARED = 20
# Metrics whose best value is the smallest; any other metric is better when larger.
LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|rmse|perplexity|wer|cer|latency|time|fpr|fnr|cost|distance", re.I)


class ModelCompareView(LoginRequiredMixin, TemplateView):
    """`/models/compare/?id=1&id=2`: side by side, against a baseline (`base=<id>`, else the first
    id: the first model ticked) with each number's change from it; `diff=1` keeps only the rows
    that differ. Nested keys are rows of their own, named by their dot path (registry.keypaths)."""

    template_name = "registry/model_compare.html"

    def get_models(self) -> tuple[list[MLModel], int]:
        """The asked models the user may see, in the order asked, and how many asked ones are not
        shown. A selection kept across pages (static/maisie/compare.js) may hold a model deleted or
        made private since: it is left out and counted, the same for both, so the page says nothing
        of whether it exists. When none of them can be shown, the page is a 404."""
        ids = list(dict.fromkeys(int(v) for v in self.request.GET.getlist("id") if v.isdigit() and len(v) < 19))
        if not ids:
            return [], 0
        if len(ids) > MAX_COMPARED:
            ids = ids[:MAX_COMPARED]
        found = MLModel.objects.visible_to(self.request.user).with_related().select_related("project__workspace")
        by_id = {model.pk: model for model in attach_tags(list(found.filter(pk__in=ids)))}
        if not by_id:
            raise Http404("No such model.")
        return [by_id[pk] for pk in ids if pk in by_id], len(ids) - len(by_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        models, unavailable = self.get_models()
        diff_only = self.request.GET.get("diff") == "1"
        asked = self.request.GET.get("base", "")
        base = next((i for i, m in enumerate(models) if str(m.pk) == asked), 0)
        facts = [
            ("Project", [m.project.name for m in models]),
            ("Version", [m.version for m in models]),
            ("Uploader", [m.uploader.get_full_name() for m in models]),
            ("Created", [m.created.strftime("%Y-%m-%d %H:%M") for m in models]),
            ("Tags", [", ".join(t.name for t in m.tag_list) for m in models]),
            ("Dataset", [m.dataset_name for m in models]),
            ("Git branch", [m.git_branch for m in models]),
            ("Git commit", [m.git_commit[:12] for m in models]),
            ("File size", [m.file_size for m in models]),
        ]
        groups = [("Facts", [_row(label, values, base, deltas=False) for label, values in facts])]
        for section in SECTIONS:
            documents = [getattr(m, section) or {} for m in models]
            paths = sorted({path for document in documents for path, _ in keypaths.leaves(document)})
            group = []
            for path in paths:
                values = [keypaths.value_at(document, path, MISSING) for document in documents]
                group.append(_row(path, values, base, best=section == "metrics"))
            groups.append((SECTION_LABELS[section], group))
        if diff_only:
            groups = [(label, [row for row in group if row["differs"]]) for label, group in groups]
        context.update(
            models=models,
            columns=[{"model": m, "baseline": i == base} for i, m in enumerate(models)],
            baseline=models[base] if models else None,
            groups=[(label, group) for label, group in groups if group],
            diff_only=diff_only,
            ids=[m.pk for m in models],
            unavailable=unavailable,
        )
        return context


MISSING = object()  # a key the model lacks, which is not the same as a stored null


def _delta(value, baseline) -> dict | None:
    """The change from the baseline, for two numbers that differ: absolute and in per cent."""
    if not (is_number(value) and is_number(baseline)) or value == baseline:
        return None
    change = value - baseline
    percent = None if baseline == 0 else 100 * change / abs(baseline)
    return {
        "value": change,
        "shown": f"{change:+.4g}",
        "percent": "" if percent is None else f"{percent:+,.0f}%" if abs(percent) >= 100 else f"{percent:+.3g}%",
        "up": change > 0,
    }


def _row(label: str, values: list, base: int = 0, best: bool = False, deltas: bool = True) -> dict:
    present = [None if v is MISSING else v for v in values]
    encoded = {json.dumps(v, sort_keys=True) if v is not MISSING else "missing" for v in values}
    lower = bool(LOWER_IS_BETTER.search(label))
    cells = []
    for i, value in enumerate(values):
        cell = {
            "value": "" if value is MISSING else value if isinstance(value, str) else display(value) or "null",
            "missing": value is MISSING,
            "best": False,
            "baseline": i == base,
            "delta": _delta(value, present[base]) if deltas and i != base else None,
        }
        if cell["delta"] and best:
            cell["delta"]["better"] = cell["delta"]["up"] != lower
        cells.append(cell)
    numbers = [v for v in present if is_number(v)]
    if best and len(numbers) > 1 and len(set(numbers)) > 1:
        target = min(numbers) if lower else max(numbers)
        for cell, value in zip(cells, present, strict=True):
            cell["best"] = is_number(value) and value == target
    return {"label": label, "cells": cells, "differs": len(encoded) > 1, "lower_is_better": best and lower}
