from django.urls import path

from accounts import invitation_views, oidc, views

app_name = "accounts"
urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("accounts/password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("account/", views.ProfileView.as_view(), name="profile"),
    path("account/confirm/", views.ConfirmPasswordView.as_view(), name="confirm_password"),
    path("account/tokens/", views.ApiTokenCreateView.as_view(), name="token_create"),
    path("account/tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="token_revoke"),
    path("account/ssh-keys/", views.SshKeyAddView.as_view(), name="sshkey_add"),
    path("account/ssh-keys/<int:pk>/remove/", views.SshKeyRemoveView.as_view(), name="sshkey_remove"),
    path("invitations/<str:secret>/", invitation_views.InvitationView.as_view(), name="invitation"),
    path(
        "workspaces/<int:pk>/invitations/",
        invitation_views.InvitationCreateView.as_view(),
        name="invitation_create",
    ),
    path(
        "workspaces/<int:pk>/invitations/<int:invitation_id>/revoke/",
        invitation_views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("accounts/sso/", oidc.SignInView.as_view(), name="oidc_sign_in"),
    path("accounts/sso/callback/", oidc.CallbackView.as_view(), name="oidc_callback"),
]
