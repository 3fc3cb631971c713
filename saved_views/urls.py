from django.urls import path

from saved_views import views

app_name = "saved_views"
urlpatterns = [
    path("projects/<int:pk>/views/", views.SavedViewCreateView.as_view(), name="create"),
    path("projects/<int:pk>/views/<int:view_id>/delete/", views.SavedViewDeleteView.as_view(), name="delete"),
    path("projects/<int:pk>/views/<int:view_id>/default/", views.SavedViewDefaultView.as_view(), name="default"),
]
