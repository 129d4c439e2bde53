from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import security_views, views

app_name = "accounts"


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("login/", security_views.LoginView.as_view(), name="login"),
    path("login/code/", security_views.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            email_template_name="accounts/email/password_reset_body.txt",
            subject_template_name="accounts/email/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        security_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("language/", views.set_language, name="set_language"),
    path("account/security/", security_views.security, name="security"),
    path("account/security/password/", security_views.password_change, name="password_change"),
    path("account/security/tokens/<int:token_id>/revoke/", security_views.token_revoke, name="token_revoke"),
    path("account/security/tokens/revoke-all/", security_views.tokens_revoke_all, name="tokens_revoke_all"),
    path("account/security/two-factor/", security_views.two_factor_enrol, name="two_factor_enrol"),
    path("account/security/two-factor/off/", security_views.two_factor_disable, name="two_factor_disable"),
    path(
        "account/security/two-factor/recovery-codes/",
        security_views.recovery_codes_renew,
        name="recovery_codes_renew",
    ),
    path(
        "orgs/<int:org_id>/two-factor/", security_views.organization_two_factor, name="organization_two_factor"
    ),
    path("staff/second-factor/", views.staff_otp, name="staff_otp"),
    path("orgs/new/", views.organization_create, name="organization_create"),
    path("orgs/<int:org_id>/organization/", views.organization_detail, name="organization"),
    path("orgs/<int:org_id>/contact/", views.organization_contact, name="organization_contact"),
    path("orgs/<int:org_id>/members/invite/", views.member_invite, name="member_invite"),
    path(
        "orgs/<int:org_id>/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("orgs/<int:org_id>/members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("orgs/<int:org_id>/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("orgs/<int:org_id>/documents/", views.documents, name="documents"),
    path("orgs/<int:org_id>/documents/<int:version_id>/", views.document_version, name="document_version"),
    path("orgs/<int:org_id>/documents/<int:version_id>/accept/", views.document_accept, name="document_accept"),
    path("orgs/<int:org_id>/inbox/", views.inbox, name="inbox"),
    path("orgs/<int:org_id>/inbox/<int:message_id>/", views.inbox_message, name="inbox_message"),
    path("orgs/<int:org_id>/terminate/", views.organization_terminate, name="organization_terminate"),
]
