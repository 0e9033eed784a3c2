"""Production settings: CSRF on, secure cookies, Argon2 first, deployment checks clean."""

import json

from tests.test_settings import PRODUCTION_ENV, manage

CODE = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'middleware': s.MIDDLEWARE, 'session_secure': s.SESSION_COOKIE_SECURE, "
    "'csrf_secure': s.CSRF_COOKIE_SECURE, 'hashers': s.PASSWORD_HASHERS, "
    "'auth': s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']}))"
)


def test_production_settings_protect_sessions_and_passwords():
    result = manage("shell", "-c", CODE, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert "django.middleware.csrf.CsrfViewMiddleware" in found["middleware"]
    assert found["session_secure"] and found["csrf_secure"]
    assert found["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in found["hashers"]
    # Browser sessions through the API keep REST framework's CSRF enforcement.
    assert "rest_framework.authentication.SessionAuthentication" in found["auth"]
    deploy = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
