from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_password_change, admin_sign_in

urlpatterns = [
    path("", include("registry.web.urls", namespace="registry")),
    path("", include("promotions.web.urls", namespace="promotions")),
    path("", include("webhooks.web.urls", namespace="webhooks")),
    path("", include("saved_views.urls", namespace="saved_views")),
    path("", include("accounts.urls", namespace="accounts")),
    # Before admin.site.urls: the admin's sign-in, behind the sign-in limits (accounts/views.py).
    path("admin/login/", admin_sign_in),
    path("admin/password_change/", admin_password_change),  # the old password counts as a sign-in
    path("admin/", admin.site.urls),
    path("api/v1/", include("maisie_site.api_urls", namespace="api")),
]

handler404 = "maisie_site.views.not_found"
handler500 = "maisie_site.views.server_error"
