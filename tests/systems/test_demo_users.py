import pytest
from django.core.management import CommandError, call_command

from systems.authorization import Permission, has_permission, visible_organisations

# Also run on SQLite, the embedded default of `make run`.
pytestmark = pytest.mark.sqlite


def test_demo_users_one_per_role(reference_data, settings, django_user_model):
    settings.DEBUG = True
    call_command("load_demo_users")
    call_command("load_demo_users")  # idempotent
    national = django_user_model.objects.get(username="national")
    director = django_user_model.objects.get(username="midlands-director")
    analyst = django_user_model.objects.get(username="notts-analyst")
    assert national.check_password("national-demo")
    assert has_permission(national, Permission.VIEW_ALL)
    assert has_permission(director, Permission.SIGN_DELEGATION_AGREEMENT)
    assert not has_permission(director, Permission.UPLOAD_METRICS)
    assert has_permission(analyst, Permission.UPLOAD_METRICS)
    assert visible_organisations(analyst).filter(code="RHA").exists()
    assert not visible_organisations(analyst).filter(code="RKL").exists()


def test_demo_users_refused_in_production(reference_data, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("load_demo_users")


def test_the_national_demo_user_reaches_the_admin_pages(
    methodologies, settings, django_user_model, client
):
    settings.DEBUG = True
    call_command("load_demo_users")
    national = django_user_model.objects.get(username="national")
    director = django_user_model.objects.get(username="midlands-director")
    assert national.is_staff and not director.is_staff
    client.force_login(national)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/oversight/methodology/").status_code == 200
    client.force_login(director)
    assert client.get("/admin/").status_code == 302
