from django.urls import path

from cases import access_log_views

from . import closure_views, views

app_name = "accounts"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("verify/", views.verify_identity, name="verify"),
    path("authorisations/", views.authorisations, name="authorisations"),
    path("close/", closure_views.close_page, name="close"),
    path(
        "organisations/<str:uscc>/agents/",
        views.organisation_agents,
        name="organisation_agents",
    ),
    path("access-log/", access_log_views.page, name="access_log"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("language/", views.switch_language, name="switch_language"),
    path("elder-mode/", views.toggle_elder_mode, name="elder_mode"),
    path("2fa/setup/", views.second_factor_setup, name="2fa_setup"),
    path("2fa/verify/", views.second_factor_verify, name="2fa_verify"),
]
