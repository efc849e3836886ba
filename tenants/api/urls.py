from ractory.api.routing import api_path

from . import auth_views, views

urlpatterns = [
    *api_path("auth/login", auth_views.LoginView.as_view(), "auth-login"),
    *api_path("auth/refresh", auth_views.RefreshView.as_view(), "auth-refresh"),
    *api_path("auth/logout", auth_views.LogoutView.as_view(), "auth-logout"),
    *api_path("auth/me", auth_views.MeView.as_view(), "auth-me"),
    *api_path("api-keys", views.ApiKeyListView.as_view(), "api-key-list"),
    *api_path("api-keys/<guid:guid>", views.ApiKeyDetailView.as_view(), "api-key-detail"),
    *api_path("users", views.UserListView.as_view(), "user-list"),
    *api_path("users/<guid:guid>", views.UserDetailView.as_view(), "user-detail"),
    *api_path("companies", views.CompanyListView.as_view(), "company-list"),
    # "current" before the guid route; it is no UUID, so the two never collide anyway.
    *api_path("companies/current", views.CurrentCompanyView.as_view(), "company-current"),
    *api_path("companies/<guid:guid>", views.CompanyDetailView.as_view(), "company-detail"),
]
