from django.urls import path

from webhooks.web import views

app_name = "webhooks"
urlpatterns = [
    path("workspaces/<int:pk>/settings/", views.WorkspaceSettingsView.as_view(), name="workspace_settings"),
    path("webhooks/new/", views.WebhookCreateView.as_view(), name="webhook_create"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook_detail"),
    path("webhooks/<int:pk>/edit/", views.WebhookEditView.as_view(), name="webhook_edit"),
    path("webhooks/<int:pk>/pause/", views.WebhookPauseView.as_view(), name="webhook_pause"),
    path("webhooks/<int:pk>/resume/", views.WebhookResumeView.as_view(), name="webhook_resume"),
    path("webhooks/<int:pk>/test/", views.WebhookTestView.as_view(), name="webhook_test"),
    path("webhooks/<int:pk>/rotate-secret/", views.WebhookRotateView.as_view(), name="webhook_rotate"),
    path("webhooks/<int:pk>/replay/", views.WebhookReplayView.as_view(), name="webhook_replay"),
    path("webhooks/<int:pk>/delete/", views.WebhookDeleteView.as_view(), name="webhook_delete"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        views.DeliveryRedeliverView.as_view(),
        name="delivery_redeliver",
    ),
]
