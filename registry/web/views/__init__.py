"""HTML views of the registry. Reads start from `visible_to`; writes call registry.services."""

from registry.web.views.audit import WorkspaceAuditView
from registry.web.views.compare import ModelCompareView
from registry.web.views.completion import KeyCompletionView
from registry.web.views.models import (
    ModelDeleteView,
    ModelDetailView,
    ModelDownloadView,
    ModelEditView,
    ModelTagAddView,
    ModelTagRemoveView,
    ModelUploadView,
)
from registry.web.views.registered_models import (
    RegisteredModelDescriptionView,
    RegisteredModelDetailView,
    RegisteredModelListView,
)
from registry.web.views.tables import ModelListView, ProjectDetailView
from registry.web.views.workspaces import (
    HomeView,
    MembershipRemoveView,
    MembershipSetView,
    ProjectCreateView,
    WorkspaceDetailView,
    WorkspaceListView,
)

__all__ = [
    "HomeView",
    "KeyCompletionView",
    "MembershipRemoveView",
    "MembershipSetView",
    "ModelCompareView",
    "ModelDeleteView",
    "ModelDetailView",
    "ModelDownloadView",
    "ModelEditView",
    "ModelListView",
    "ModelTagAddView",
    "ModelTagRemoveView",
    "ModelUploadView",
    "ProjectCreateView",
    "ProjectDetailView",
    "RegisteredModelDescriptionView",
    "RegisteredModelDetailView",
    "RegisteredModelListView",
    "WorkspaceAuditView",
    "WorkspaceDetailView",
    "WorkspaceListView",
]
