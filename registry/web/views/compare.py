"""`/models/compare/`: models side by side, the best value of each metric marked."""

import json
import re

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.views.generic import TemplateView

from registry.models import MLModel
from registry.querysets import attach_tags
from registry.web.keys import SECTION_LABELS, SECTIONS, display
from registry.web.views.models import _is_number

MAX_COMPARED = 20
# Metrics whose best value is the smallest; any other metric is better when larger.
LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|rmse|perplexity|wer|cer|latency|time|fpr|fnr|cost|distance", re.I)


class ModelCompareView(LoginRequiredMixin, TemplateView):
    """`/models/compare/?id=1&id=2`: side by side; `diff=1` keeps only the rows that differ."""

    template_name = "registry/model_compare.html"

    def get_models(self) -> list[MLModel]:
        ids = list(dict.fromkeys(int(v) for v in self.request.GET.getlist("id") if v.isdigit() and len(v) < 19))
        if not ids:
            return []
        if len(ids) > MAX_COMPARED:
            ids = ids[:MAX_COMPARED]
        found = MLModel.objects.visible_to(self.request.user).with_related().select_related("project__workspace")
        by_id = {model.pk: model for model in attach_tags(list(found.filter(pk__in=ids)))}
        if len(by_id) != len(ids):
            raise Http404("No such model.")
        return [by_id[pk] for pk in ids]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        models = self.get_models()
        diff_only = self.request.GET.get("diff") == "1"
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
        groups = [("Facts", [_row(label, values) for label, values in facts])]
        for section in SECTIONS:
            keys = sorted({key for m in models for key in (getattr(m, section) or {})})
            group = []
            for key in keys:
                values = [(getattr(m, section) or {}).get(key) for m in models]
                group.append(_row(key, values, best=section == "metrics"))
            groups.append((SECTION_LABELS[section], group))
        if diff_only:
            groups = [(label, [row for row in group if row["differs"]]) for label, group in groups]
        context.update(
            models=models,
            groups=[(label, group) for label, group in groups if group],
            diff_only=diff_only,
            ids=[m.pk for m in models],
        )
        return context


def _row(label: str, values: list, best: bool = False) -> dict:
    shown = [display(v) if not isinstance(v, str) else v for v in values]
    encoded = {json.dumps(v, sort_keys=True) for v in values}
    cells = [{"value": s, "missing": v is None, "best": False} for s, v in zip(shown, values, strict=True)]
    lower = bool(LOWER_IS_BETTER.search(label))
    numbers = [v for v in values if _is_number(v)]
    if best and len(numbers) > 1 and len(set(numbers)) > 1:
        target = min(numbers) if lower else max(numbers)
        for cell, value in zip(cells, values, strict=True):
            cell["best"] = _is_number(value) and value == target
    return {"label": label, "cells": cells, "differs": len(encoded) > 1, "lower_is_better": best and lower}
