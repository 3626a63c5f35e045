import pytest
from django.test import Client

from accounts.models import User

from .factories import PASSWORD, CitizenProfileFactory, id_number_for

__all__ = ["PASSWORD", "id_number_for"]


@pytest.fixture
def citizen(db) -> User:
    return CitizenProfileFactory(user__username="zhang", real_name="张三").user


@pytest.fixture
def citizen_client(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    return client
