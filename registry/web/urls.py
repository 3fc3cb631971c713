from django.urls import path

from registry.web import views

app_name = "registry"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("workspaces/", views.WorkspaceListView.as_view(), name="workspace_list"),
    path("workspaces/<int:pk>/", views.WorkspaceDetailView.as_view(), name="workspace_detail"),
    path("workspaces/<int:pk>/members/", views.MembershipSetView.as_view(), name="membership_set"),
    path(
        "workspaces/<int:pk>/members/<int:user_id>/remove/",
        views.MembershipRemoveView.as_view(),
        name="membership_remove",
    ),
    path("workspaces/<int:pk>/projects/", views.ProjectCreateView.as_view(), name="project_create"),
    path("workspaces/<int:pk>/audit/", views.WorkspaceAuditView.as_view(), name="workspace_audit"),
    path("projects/<int:pk>/", views.ProjectDetailView.as_view(), name="project_detail"),
    path("projects/<int:pk>/keys.json", views.KeyCompletionView.as_view(), name="project_keys"),
    path("projects/<int:pk>/models/", views.RegisteredModelListView.as_view(), name="registered_model_list"),
    path("registered-models/<int:pk>/", views.RegisteredModelDetailView.as_view(), name="registered_model_detail"),
    path(
        "registered-models/<int:pk>/description/",
        views.RegisteredModelDescriptionView.as_view(),
        name="registered_model_description",
    ),
    path("models/", views.ModelListView.as_view(), name="model_list"),
    path("models/keys.json", views.KeyCompletionView.as_view(), name="model_keys"),
    path("models/compare/", views.ModelCompareView.as_view(), name="model_compare"),
    path("models/upload/", views.ModelUploadView.as_view(), name="model_upload"),
    path("models/<int:pk>/", views.ModelDetailView.as_view(), name="model_detail"),
    path("models/<int:pk>/download/", views.ModelDownloadView.as_view(), name="model_download"),
    path("models/<int:pk>/edit/", views.ModelEditView.as_view(), name="model_edit"),
    path("models/<int:pk>/delete/", views.ModelDeleteView.as_view(), name="model_delete"),
    path("models/<int:pk>/tags/", views.ModelTagAddView.as_view(), name="model_tag_add"),
    path("models/<int:pk>/tags/<int:tag_id>/remove/", views.ModelTagRemoveView.as_view(), name="model_tag_remove"),
]
