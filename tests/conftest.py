from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings

from domains.models import Role
from tests.factories import (
    DomainFactory,
    MembershipFactory,
    ProductFactory,
    UserFactory,
    make_governance,
)


def pytest_configure(config: pytest.Config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The tests run against PostgreSQL: set DATABASE_URL "
            "(e.g. postgres://postgres@127.0.0.1:5432/mesh) or use `make test`."
        )


@pytest.fixture(autouse=True)
def audit_head_file(settings: Any, tmp_path: Path) -> Path:
    """Tests write their audit chain's head beside them, never into the checkout's var/."""
    path = tmp_path / "audit" / "head.json"
    settings.AUDIT_HEAD_FILE = str(path)
    return path


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The `people` fixture hashes six passwords; PBKDF2 makes that a second per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        ],
    }  # fmt: skip


@pytest.fixture
def people(db: None) -> SimpleNamespace:
    """One of each kind of actor around the domain `sales`; `outsider` belongs to `hr`."""
    sales = DomainFactory(slug="sales", name="Sales")
    hr = DomainFactory(slug="hr", name="People")
    owner = MembershipFactory(
        domain=sales, user=UserFactory(username="olivia"), role=Role.OWNER
    ).user
    engineer = MembershipFactory(
        domain=sales, user=UserFactory(username="ethan"), role=Role.ENGINEER
    ).user
    viewer = MembershipFactory(
        domain=sales, user=UserFactory(username="vera"), role=Role.VIEWER
    ).user
    outsider = MembershipFactory(
        domain=hr, user=UserFactory(username="oscar"), role=Role.OWNER
    ).user
    governance = make_governance(UserFactory(username="grace"))
    admin = UserFactory(username="ada", is_superuser=True, is_staff=True)
    return SimpleNamespace(
        sales=sales, hr=hr, owner=owner, engineer=engineer, viewer=viewer,
        outsider=outsider, governance=governance, admin=admin,
        restricted=ProductFactory(domain=sales, slug="payroll-links", classification="restricted"),
        internal=ProductFactory(domain=sales, slug="orders", classification="internal"),
        hr_restricted=ProductFactory(domain=hr, slug="salaries", classification="restricted"),
    )  # fmt: skip
