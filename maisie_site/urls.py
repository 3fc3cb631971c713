from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("registry.urls", namespace="registry")),
    path("", include("accounts.urls", namespace="accounts")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("maisie_site.api_urls", namespace="api")),
]

handler404 = "maisie_site.views.not_found"
handler500 = "maisie_site.views.server_error"
