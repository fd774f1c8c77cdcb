import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console.tokens import api_token_create

# The real simulator and tool server, for every test folder.
pytest_plugins = ["tests.support.fixtures", "tests.support.run_queue"]


_DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _policy_without_seeded_rules(request: pytest.FixtureRequest) -> None:
    """Tests of the policy start from an empty one, as they were written to; the taint rules
    that migration approvals 0004 seeds are tested where they matter (tests/injection), which
    mark themselves `seeded_policy` or create the rules with the `taint_rules` fixture."""
    uses_db = request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(request.fixturenames)
    if not uses_db or request.node.get_closest_marker("seeded_policy"):
        return
    request.getfixturevalue("_django_db_helper")
    from approvals.models import PolicyRule, PolicyVersion

    PolicyRule.objects.filter(raise_only=True, tool="*").delete()
    PolicyVersion.objects.filter(summary__endswith="(migration)").delete()


@pytest.fixture
def requester(db) -> User:
    return User.objects.create_user("requester", password="requester-pass")


@pytest.fixture
def reviewer(db) -> User:
    user = User.objects.create_user("reviewer", password="reviewer-pass")
    user.groups.add(Group.objects.get_or_create(name="reviewers")[0])
    return user


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_user("admin", password="admin-pass", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("outsider", password="outsider-pass")


def _api_client(user: User) -> Client:
    raw, _token = api_token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def requester_api(requester) -> Client:
    return _api_client(requester)


@pytest.fixture
def admin_api(admin) -> Client:
    return _api_client(admin)


@pytest.fixture
def outsider_api(outsider) -> Client:
    return _api_client(outsider)


@pytest.fixture
def reviewer_api(reviewer) -> Client:
    return _api_client(reviewer)
