"""The advisory verdicts on a file or a version, worst last (docs/formats.md)."""

SAFE, PICKLE, UNKNOWN, SUSPICIOUS = "safe", "pickle", "unknown", "suspicious"
RANK = {SAFE: 0, PICKLE: 1, UNKNOWN: 2, SUSPICIOUS: 3}

# Formats that hold no code to run when loaded, and those whose loading runs pickle opcodes.
SAFE_FORMATS = ("safetensors", "gguf", "onnx")
PICKLE_FORMATS = ("pytorch", "pickle", "joblib")
OTHER = "other"  # not a model format Maisie reads (config.json, a tokenizer, labels)
