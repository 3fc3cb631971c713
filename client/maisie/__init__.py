"""Maisie: a registry for trained machine-learning models. The Python client and CLI.

from maisie import Models
Models().upload("resnet50", "model.pt", hyperparameters={"lr": 0.1}, metrics="metrics.json")
"""

__version__ = "0.2.0"

from maisie.core import (
    APP_ENV_PREFIX,
    DEFAULT_SETTINGS,
    PERMITTED_SETTINGS,
    BaseAction,
    Config,
)
from maisie.resources.models import Models
from maisie.resources.projects import Projects
from maisie.resources.promotions import PromotionRequests
from maisie.resources.registered_models import AliasMoved, PromotionOpened, RegisteredModels
from maisie.resources.users import Users
from maisie.resources.workspaces import Workspaces

__all__ = [
    "APP_ENV_PREFIX",
    "DEFAULT_SETTINGS",
    "PERMITTED_SETTINGS",
    "AliasMoved",
    "BaseAction",
    "Config",
    "Models",
    "Projects",
    "PromotionOpened",
    "PromotionRequests",
    "RegisteredModels",
    "Users",
    "Workspaces",
    "__version__",
]
