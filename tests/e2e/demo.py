"""A small, realistic registry for the browser tests and the screenshots, made through the services."""

import random

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_user
from registry import services
from registry.models import Role

ARCHS = ["resnet18", "resnet50", "vit-small", "convnext-tiny", "efficientnet-b0"]
OPTIMIZERS = ["adam", "adamw", "sgd"]


RESNET50_CARD = """# ResNet-50, ImageNet-1k

Baseline classifier for the **imagenet-baselines** project: 224 px crops, label smoothing, cosine schedule.

| split | top-1 | top-5 |
|---|---|---|
| val | 0.87 | 0.97 |

- Trained on `imagenet-1k`; evaluated on the held-out validation set.
- Known limits: weak on small objects; not calibrated.

See [the paper](https://arxiv.org/abs/1512.03385).
"""


def _lifecycle(alice, project) -> None:
    """Aliases and model cards: what the registered-model pages show."""
    from registry.models import RegisteredModel

    registered = {r.name: r for r in RegisteredModel.objects.filter(project=project)}
    for name, aliases in {"resnet50": {"production": 2, "staging": 5}, "vit-small": {"production": 3}}.items():
        if name not in registered:
            continue
        for alias, version in aliases.items():
            if version <= registered[name].last_version:
                services.alias_set(registered_model=registered[name], name=alias, version=version, user=alice)
    if "resnet50" in registered:
        services.registered_model_update(registered_model=registered["resnet50"], user=alice, description=RESNET50_CARD)
    if "resnet50" in registered and registered["resnet50"].last_version >= 6:
        services.alias_set(registered_model=registered["resnet50"], name="production", version=6, user=alice)


def seed_demo(models: int = 36):
    rng = random.Random(7)
    alice = make_user("alice")
    bob = make_user("bob")
    eve = make_user("eve")
    vision = services.workspace_create(user=alice, name="Vision", description="Image classification and detection")
    services.membership_set(workspace=vision, actor=alice, user=bob, role=Role.MEMBER)
    nlp = services.workspace_create(user=alice, name="Language", description="Text models")
    project = services.project_create(
        user=alice,
        workspace=vision,
        name="imagenet-baselines",
        description="Baselines on ImageNet-1k, 224px",
        git_url="https://github.com/acme/imagenet-baselines",
    )
    services.project_create(user=alice, workspace=vision, name="coco-detection")
    services.project_create(user=alice, workspace=nlp, name="sentiment")
    created = []
    for i in range(models):
        arch = ARCHS[i % len(ARCHS)]
        lr = rng.choice([1e-4, 3e-4, 1e-3, 3e-3])
        optimizer = rng.choice(OPTIMIZERS)
        accuracy = round(0.62 + 0.3 * rng.random() - (0.05 if optimizer == "sgd" else 0), 4)
        model = services.model_upload(
            user=bob if i % 3 else alice,
            project=project,
            name=arch,
            file=SimpleUploadedFile(f"{arch}.pt", f"weights {i}".encode() * 50),
            hyperparameters={
                "lr": lr,
                "optimizer": optimizer,
                "batch_size": rng.choice([64, 128, 256]),
                "epochs": rng.choice([30, 90, 120]),
                "weight_decay": rng.choice([0.0, 1e-4, 5e-4]),
                "label_smoothing": rng.choice([0.0, 0.1]),
                "mixup": rng.choice([True, False]),
            },
            parameters={
                "layers": {"resnet18": 18, "resnet50": 50}.get(arch, 12),
                "params_m": round(5 + 80 * rng.random(), 1),
            },
            metrics={
                "accuracy": accuracy,
                "top5": round(min(0.999, accuracy + 0.15), 4),
                "loss": round(2.2 - 2 * accuracy + rng.random() * 0.1, 4),
                "f1": round(accuracy - 0.02 * rng.random(), 4),
                "latency_ms": round(3 + 20 * rng.random(), 2),
            },
            tags=rng.sample(["baseline", "augmented", "distilled", "production"], k=rng.randint(0, 2)),
            dataset_name="imagenet-1k",
            git_branch=rng.choice(["main", "exp/mixup", "exp/lr-sweep"]),
            git_commit=f"{rng.getrandbits(160):040x}",
            private=i == models - 1,
        )
        created.append(model)
    _lifecycle(alice, project)
    return {"alice": alice, "bob": bob, "eve": eve, "workspace": vision, "project": project, "models": created}
