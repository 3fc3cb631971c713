from django.urls import path

from promotions.web import views

app_name = "promotions"
urlpatterns = [
    path("registered-models/<int:pk>/aliases/", views.AliasSetView.as_view(), name="alias_set"),
    path(
        "registered-models/<int:pk>/aliases/<str:alias>/remove/",
        views.AliasRemoveView.as_view(),
        name="alias_remove",
    ),
    path(
        "registered-models/<int:pk>/aliases/<str:alias>/rollback/",
        views.AliasRollbackView.as_view(),
        name="alias_rollback",
    ),
    path("promotion-requests/<int:pk>/approve/", views.PromotionApproveView.as_view(), name="promotion_approve"),
    path("promotion-requests/<int:pk>/reject/", views.PromotionRejectView.as_view(), name="promotion_reject"),
    path("promotion-requests/<int:pk>/cancel/", views.PromotionCancelView.as_view(), name="promotion_cancel"),
    path("projects/<int:pk>/settings/", views.ProjectSettingsView.as_view(), name="project_settings"),
    path("projects/<int:pk>/settings/alias-rules/", views.AliasRuleCreateView.as_view(), name="alias_rule_create"),
    path(
        "projects/<int:pk>/settings/alias-rules/<int:rule_id>/",
        views.AliasRuleUpdateView.as_view(),
        name="alias_rule_update",
    ),
    path(
        "projects/<int:pk>/settings/alias-rules/<int:rule_id>/delete/",
        views.AliasRuleDeleteView.as_view(),
        name="alias_rule_delete",
    ),
]
