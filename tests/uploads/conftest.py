import pytest


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded files go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def q1(methodologies):
    from oversight.models import ReportingPeriod

    return ReportingPeriod.objects.by_key("Q1 2025/26")


@pytest.fixture
def q2(methodologies):
    from oversight.models import ReportingPeriod

    return ReportingPeriod.objects.by_key("Q2 2025/26")
