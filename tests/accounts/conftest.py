import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _default_language_after_each_test():  # noqa: ANN202
    """A page requested as a member who prefers another language leaves that language active in the
    test process (UserLanguageMiddleware activates it for the request's thread): put the default
    back, or the next test on the same worker (pytest-xdist) would build its texts in Italian."""
    yield
    translation.deactivate()
