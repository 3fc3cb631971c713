"""What a verdict means, in one sentence for people: the model page, the API and the CLI say
the same (docs/formats.md, "Verdicts")."""

from formats import verdicts

BADGES = {
    verdicts.SAFE: "safe format",
    verdicts.PICKLE: "pickle",
    verdicts.SUSPICIOUS: "suspicious",
    verdicts.UNKNOWN: "unknown",
}
SENTENCES = {
    verdicts.SAFE: "A format that holds data only: loading it reads tensors and metadata and runs no code.",
    verdicts.PICKLE: (
        "Pickle data: loading it runs the pickle's instructions. A static scan found only names that rebuild "
        "tensors and arrays; that is advice, not a guarantee."
    ),
    verdicts.SUSPICIOUS: (
        "Pickle data that imports names outside those that rebuild data: loading it runs them. "
        "Load it only if you trust whoever made it, or convert it to safetensors first."
    ),
    verdicts.UNKNOWN: ("Pickle data Maisie could not scan to the end: loading it runs code no one has looked at."),
}
OTHER_SENTENCE = "Not a model format: Maisie did not find weights or pickle data in it."


def badge(verdict: str) -> str:
    return BADGES.get(verdict, verdict)


def sentence(verdict: str, fmt: str = "") -> str:
    if fmt == verdicts.OTHER:
        return OTHER_SENTENCE
    return SENTENCES.get(verdict, "")


def params(n: int | None) -> str:
    """21, 3.4 K, 7.24 B: the parameter counts people say."""
    if n is None:
        return "—"
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)
