from pathlib import Path

import pytest
from rest_framework.test import APIClient

from dreamseed.classes.tests.conftest import art_class, beta_class, math_class  # noqa: F401
from dreamseed.testing import in_schema


@pytest.fixture
def api_for(db):
    """api_for(persona) -> a DRF client signed in (session) at the persona's school;
    api_for(persona, token=True) -> authenticated with an API token instead."""

    def make(persona=None, *, token=False, host=None):
        client = APIClient(HTTP_HOST=host or persona.host)
        if persona is None:
            return client
        with in_schema(persona.schema_name):
            if token:
                from rest_framework.authtoken.models import Token

                key = Token.objects.get_or_create(user=persona.user)[0].key
                client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            else:
                client.force_login(
                    persona.user, backend="dreamseed.accounts.backends.AccountBackend"
                )
        return client

    return make


def pytest_collection_modifyitems(config, items):
    """With `-p no:playwright` (the quick run), skip this folder's browser tests instead of
    failing them for a missing `page` fixture."""
    if config.pluginmanager.has_plugin("playwright"):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="needs pytest-playwright (disabled with -p no:playwright)")
    for item in items:
        if "browser" in item.keywords and here in Path(item.path).parents:
            item.add_marker(skip)
