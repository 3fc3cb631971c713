"""A deterministic workload for benchmarks: `manage.py seed_models --models 100000`.

2 workspaces of 5 projects (`--projects N` spreads N projects over them; `--projects 1` makes
one workspace with every model in one project); each model has 10 hyperparameters, 5 parameters,
5 metrics and 2 tags, with mixed JSON types (numbers, strings, booleans, nulls, and keys whose
type varies from model to model). The same --seed gives the same models; bench/search.py logs
the same rows into MLflow through `workload()`.

Every model gets a tiny file of its own, so `maisie_fsck` finds the database and the storage in
agreement and deleting a seeded model behaves like deleting an uploaded one. Rows go in with
bulk_create in batches; the services' per-upload checks would take hours at a million models.
"""

import contextlib
import hashlib
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from registry import blobs, keystats, manifests
from registry.models import Blob, ManifestEntry, Membership, MLModel, Project, RegisteredModel, Role, Tag, Workspace

WORKSPACE_PREFIX = "seed-"
OPTIMIZERS = ["adam", "sgd", "adamw", "rmsprop"]
ARCHS = ["resnet", "vit", "bert", "mlp", "unet"]
DATASETS = ["imagenet", "cifar10", "coco", "squad", "librispeech"]
TAGS = ["prod", "staging", "baseline", "sweep", "nightly", "candidate", "archived", "gpu", "cpu", "distilled"]
START = datetime(2024, 1, 1, tzinfo=UTC)


def workload(count: int, seed: int = 1, projects: int = 10, uploaders: int = 3) -> Iterator[dict]:
    """The models to create, in order; `project` and `uploader` are indexes, the rest field values."""
    rng = random.Random(seed)
    for index in range(count):
        arch = rng.choice(ARCHS)
        yield {
            "index": index,
            "project": index % projects,
            "uploader": rng.randrange(uploaders),
            "name": f"{arch}-{rng.randrange(100)}",
            "hyperparameters": {
                "optimizer": rng.choice(OPTIMIZERS),
                "lr": round(10 ** rng.uniform(-5, -1), 8),
                "batch_size": rng.choice([16, 32, 64, 128, 256]),
                "arch": arch,
                "epochs": rng.randint(1, 100),
                "dropout": round(rng.uniform(0, 0.5), 4),
                "weight_decay": rng.choice([0, 0.0001, 0.001, "none"]),  # a number or a string
                "pretrained": rng.random() < 0.5,
                "layers": rng.choice([4, 8, 16, 32, 50, "16", "auto"]),  # mostly numbers, some text
                "momentum": rng.choice([None, 0.9, 0.95]),
            },
            "parameters": {
                "n_params": rng.randint(10**5, 10**9),
                "input_size": rng.choice([32, 64, 128, 224, 512]),
                "seed": rng.randrange(2**31),
                "precision": rng.choice(["fp16", "fp32", "bf16"]),
                "frozen": rng.random() < 0.2,
            },
            "metrics": {
                "accuracy": round(rng.random(), 6),
                "f1": round(rng.random(), 6),
                "loss": round(rng.uniform(0, 3), 6),
                "precision": round(rng.random(), 6),
                "recall": round(rng.random(), 6),
            },
            "tags": rng.sample(TAGS, 2),
            "dataset_name": rng.choice(DATASETS),
            "git_branch": rng.choice(["main", "dev", "exp"]),
            "git_commit": hashlib.sha1(f"{seed}:{index}".encode(), usedforsecurity=False).hexdigest(),
            "private": rng.random() < 0.05,
            "created": START + timedelta(seconds=30 * index),
        }


@contextlib.contextmanager
def _keeping_timestamps():
    """Let bulk_create store the generated `created`, which auto_now_add would overwrite with now."""
    fields = [MLModel._meta.get_field("created"), MLModel._meta.get_field("updated")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


class Command(BaseCommand):
    help = "Create a deterministic benchmark workload of models in two new workspaces."

    def add_arguments(self, parser):
        parser.add_argument("--models", type=int, required=True, help="how many models to create")
        parser.add_argument("--seed", type=int, default=1, help="the random seed (same seed, same models)")
        parser.add_argument("--batch", type=int, default=2000, help="rows per bulk insert")
        parser.add_argument("--login", default="seed", help="the workspaces' owner, created if missing")
        parser.add_argument("--password", default="", help="the owner's password (default: cannot sign in)")
        parser.add_argument("--projects", type=int, default=10, help="projects, over 2 workspaces (1: one of each)")

    def handle(self, *args, models: int, seed: int, batch: int, login: str, password: str, projects: int, **options):
        if models < 1 or batch < 1 or projects < 1:
            raise CommandError("--models, --batch and --projects must be at least 1.")
        if Workspace.objects.filter(name__startswith=WORKSPACE_PREFIX).exists():
            raise CommandError(f"Workspaces named {WORKSPACE_PREFIX}* exist already; seed a fresh database.")
        users = self._users(login, password)
        projects = self._projects(users, projects)
        # Tags belong to a workspace: each workspace gets its own of every name.
        tags = {
            (workspace_id, name): Tag.objects.get_or_create(workspace_id=workspace_id, name=name)[0]
            for workspace_id in sorted({project.workspace_id for project in projects})
            for name in TAGS
        }
        versions: Counter = Counter()
        self._registered: dict[tuple[int, str], RegisteredModel] = {}
        rows = workload(models, seed, projects=len(projects), uploaders=len(users))
        done = 0
        with _keeping_timestamps():
            while chunk := [row for _, row in zip(range(batch), rows, strict=False)]:
                self._insert(chunk, users, projects, tags, versions)
                done += len(chunk)
                self.stdout.write(f"{done}/{models} models", ending="\r")
        keystats.rebuild(project_ids=[project.pk for project in projects])  # bulk_create bypassed services
        self.stdout.write(f"Seeded {models} models in {len(projects)} projects; owner: {users[0].login}.")

    def _users(self, login: str, password: str) -> list[User]:
        users = []
        for name in (login, f"{login}-a", f"{login}-b"):
            user = User.objects.filter(login=name).first() or User.objects.create_user(name, password or None)
            users.append(user)
        return users

    def _projects(self, users: list[User], count: int) -> list[Project]:
        projects = []
        workspaces = min(2, count)
        for w in range(workspaces):
            workspace = Workspace.objects.create(name=f"{WORKSPACE_PREFIX}workspace-{w + 1}")
            roles = [Role.OWNER, Role.MEMBER, Role.MEMBER]
            Membership.objects.bulk_create(
                Membership(workspace=workspace, user=user, role=role) for user, role in zip(users, roles, strict=True)
            )
            # Project n goes to workspace n * workspaces // count: 10 projects are 1-5 and 6-10.
            for n in range(count):
                if n * workspaces // count == w:
                    projects.append(
                        Project.objects.create(workspace=workspace, name=f"project-{n + 1}", created_by=users[0])
                    )
        return projects

    @transaction.atomic
    def _insert(self, chunk: list[dict], users, projects, tags, versions: Counter) -> None:
        models, stored = [], []
        for row in chunk:
            project = projects[row["project"]]
            versions[project.pk, row["name"]] += 1
            registered = self._registered.get((project.pk, row["name"]))
            if registered is None:
                registered = RegisteredModel.objects.create(project=project, name=row["name"])
                self._registered[project.pk, row["name"]] = registered
            content = f"maisie seed model {row['index']}\n".encode()
            sha256 = hashlib.sha256(content).hexdigest()
            manifest = manifests.for_one_file(f"{row['name']}.pt", len(content), sha256)
            stored.append(Blob(sha256=sha256, size=len(content), key=blobs.put(ContentFile(content), sha256)))
            models.append(
                MLModel(
                    project=project,
                    registered_model=registered,
                    uploader=users[row["uploader"]],
                    name=row["name"],
                    version=versions[project.pk, row["name"]],
                    hyperparameters=row["hyperparameters"],
                    parameters=row["parameters"],
                    metrics=row["metrics"],
                    dataset_name=row["dataset_name"],
                    git_branch=row["git_branch"],
                    git_commit=row["git_commit"],
                    private=row["private"],
                    file=stored[-1].key,
                    file_name=f"{row['name']}.pt",
                    file_size=len(content),
                    file_sha256=sha256,
                    digest=manifests.digest(manifest),
                    created=row["created"],
                    updated=row["created"],
                )
            )
        MLModel.objects.bulk_create(models)
        # What model_register writes for a one-file version: its blob and its one-entry manifest.
        Blob.objects.bulk_create(stored, ignore_conflicts=True)
        ManifestEntry.objects.bulk_create(
            ManifestEntry(model_id=model.pk, path=manifests.one_file_path(model.file_name), blob_id=blob.sha256)
            for model, blob in zip(models, stored, strict=True)
        )
        # The counters services.py would have moved: the last number handed out per name.
        for (project_id, name), registered in self._registered.items():
            registered.last_version = versions[project_id, name]
        RegisteredModel.objects.bulk_update(self._registered.values(), ["last_version"], batch_size=1000)
        through = MLModel.tags.through
        through.objects.bulk_create(
            through(mlmodel_id=model.pk, tag_id=tags[model.project.workspace_id, name].pk)
            for model, row in zip(models, chunk, strict=True)
            for name in row["tags"]
        )
