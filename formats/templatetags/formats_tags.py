"""The model page's "Contents" card: {% load formats_tags %}{% version_formats model %}."""

from django import template

from formats import presentation, services, verdicts
from formats.models import VersionFacts

register = template.Library()

# Format metadata shown first, when a file has it (the rest follow in the format's own order).
# Existing badge colours: safe formats in the accent, a pickle plain, the others as warnings.
BADGE_CLASSES = {verdicts.SAFE: "badge--owner", verdicts.UNKNOWN: "badge--warn", verdicts.SUSPICIOUS: "badge--warn"}
SHOWN_FIRST = ("architecture", "quantization", "context_length", "opset", "producer", "inputs", "outputs")


@register.inclusion_tag("formats/_version_formats.html")
def version_formats(model):
    facts = VersionFacts.objects.filter(model=model).first()
    files = []
    for path, size, f in services.files_of(model):
        row = {"path": path, "size": size, "facts": f}
        if f is not None:
            meta = f.metadata or {}
            ordered = [k for k in SHOWN_FIRST if k in meta] + [k for k in meta if k not in SHOWN_FIRST]
            row.update(
                badge=presentation.badge(f.verdict) if f.format != verdicts.OTHER else "other",
                badge_class="" if f.format == verdicts.OTHER else BADGE_CLASSES.get(f.verdict, ""),
                sentence=presentation.sentence(f.verdict, f.format),
                params=presentation.params(f.params),
                dtypes=", ".join(f"{d} {b:,} B" for d, b in sorted(f.bytes_by_dtype.items())),
                meta=[(k, meta[k]) for k in ordered[:12]],
            )
        files.append(row)
    return {
        "facts": facts,
        "files": files,
        "badge": presentation.badge(facts.verdict) if facts else "",
        "badge_class": BADGE_CLASSES.get(facts.verdict, "") if facts else "",
        "sentence": presentation.sentence(facts.verdict, facts.format) if facts else "",
        "params": presentation.params(facts.params) if facts else "",
    }


@register.filter
def needs_confirmation(model) -> bool:
    """The model page's Download opens the confirmation page instead of downloading at once."""
    from formats import unsafe

    return unsafe.version_verdict(model) == verdicts.SUSPICIOUS
