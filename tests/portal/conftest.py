from __future__ import annotations

from types import SimpleNamespace

import pytest

from products.services import publish_contract
from tests.factories import odcs_document


@pytest.fixture
def contracts(people: SimpleNamespace) -> SimpleNamespace:
    """Version 1.0.0 of sales/orders and of the restricted sales/payroll-links."""
    return SimpleNamespace(
        orders=publish_contract(
            product=people.internal, document=odcs_document("orders"), actor=people.engineer
        ),
        restricted=publish_contract(
            product=people.restricted, document=odcs_document("payroll"), actor=people.engineer
        ),
    )
