"""Every endpoint of `/api/v1/`, in one router so the whole API reads at a glance."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api.ssh import SshChallengeView, SshLoginView, SshPublicKeyViewSet
from accounts.api.views import ApiTokenViewSet, LoginView, TokenRefreshView, UserViewSet
from events.api.views import EventViewSet
from formats.api import VersionFormatsView
from promotions.api.views import AliasRuleViewSet, PromotionRequestViewSet
from registry.api import uploads
from registry.api.registered_models import RegisteredModelViewSet, ResolveView
from registry.api.views import MLModelViewSet, ModelFileView, ProjectViewSet, TagViewSet, WorkspaceViewSet
from webhooks.api.views import WebhookViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("projects", ProjectViewSet, basename="project")
router.register("models", MLModelViewSet, basename="model")
router.register("tags", TagViewSet, basename="tag")
router.register("registered-models", RegisteredModelViewSet, basename="registeredmodel")
router.register("users", UserViewSet, basename="user")
router.register("auth/tokens", ApiTokenViewSet, basename="apitoken")
router.register("auth/ssh-keys", SshPublicKeyViewSet, basename="sshkey")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register(r"projects/(?P<project_pk>\d+)/alias-rules", AliasRuleViewSet, basename="aliasrule")
router.register("promotion-requests", PromotionRequestViewSet, basename="promotionrequest")

app_name = "api"
urlpatterns = [
    path("auth/login/", LoginView.as_view(), name="login"),
    path("auth/token/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/ssh/challenge/", SshChallengeView.as_view(), name="ssh-challenge"),
    path("auth/ssh/login/", SshLoginView.as_view(), name="ssh-login"),
    path("resolve/", ResolveView.as_view(), name="resolve"),
    *uploads.urlpatterns,
    # No trailing slash: the path is the file's own (models/<id>/files/ lists them).
    re_path(r"^models/(?P<pk>\d+)/files/(?P<path>.+)$", ModelFileView.as_view(), name="model-file"),
    path("models/<int:pk>/formats/", VersionFormatsView.as_view(), name="model-formats"),  # docs/formats.md
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
