"""Policies on the platform: who sets them, enforcement on change, waivers, drafts, sweeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import services
from governance.dashboard import scores
from governance.evaluation import PolicyFailed, collecting, for_policies, views_of
from governance.models import AuditEvent, Evaluation, Policy, PolicyVersion, Waiver
from meshplatform.errors import Forbidden, Invalid
from products import services as products
from products.models import DataProduct
from tests.factories import ProductFactory, odcs_document

DESCRIBED = {"builtin": "owner_and_description", "params": {"minLength": 30}}
HOW = "Describe what the product holds in at least 30 characters."


def policy(actor, *, domain=None, severity="blocking", rule=None, slug="described", **extra):
    return services.create_policy(
        actor=actor, domain=domain, slug=slug, title="Products are described",
        description=HOW, severity=severity, rule=rule or DESCRIBED, **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("governance", True), ("admin", True), ("owner", False), ("engineer", False),
     ("viewer", False), ("outsider", False)],
)  # fmt: skip
def test_only_the_council_and_admins_set_global_policies(people, who, allowed) -> None:
    actor = getattr(people, who)
    if allowed:
        assert policy(actor).scope == Policy.Scope.GLOBAL
    else:
        with pytest.raises(Forbidden):
            policy(actor)


def test_domain_owners_add_policies_to_their_domain_but_cannot_touch_global_ones(people) -> None:
    own = policy(people.owner, domain=people.sales, slug="sales-described")
    assert own.scope == Policy.Scope.DOMAIN
    with pytest.raises(Forbidden):
        policy(people.engineer, domain=people.sales, slug="other")
    with pytest.raises(Forbidden):
        policy(people.outsider, domain=people.sales, slug="other")
    council = policy(people.governance)
    with pytest.raises(Forbidden):
        services.update_policy(policy=council, actor=people.owner, enabled=False)


def test_each_change_is_a_new_audited_version(people) -> None:
    created = policy(people.governance)
    changed = services.update_policy(policy=created, actor=people.governance, severity="warning")
    assert changed.version == 2
    assert list(PolicyVersion.objects.filter(policy=created).values_list("version", flat=True)) == [
        2,
        1,
    ]
    assert PolicyVersion.objects.get(policy=created, version=1).snapshot["severity"] == "blocking"
    assert AuditEvent.objects.filter(action__in=["policy.created", "policy.changed"]).count() == 2
    # Changing nothing writes nothing.
    services.update_policy(policy=changed, actor=people.governance, severity="warning")
    assert Policy.objects.get(pk=created.pk).version == 2


def test_a_bad_rule_is_refused_when_saved_and_nothing_is_kept(people) -> None:
    with pytest.raises(Invalid) as error:
        policy(people.governance, rule={"cel": "product.owner =="})
    assert "rule.cel" in error.value.fields
    assert not Policy.objects.exists()


def test_a_blocking_failure_refuses_registration_with_how_to_comply(people) -> None:
    policy(people.governance)
    with pytest.raises(PolicyFailed) as error:
        products.register_product(
            domain=people.sales, slug="returns", title="Returns", actor=people.engineer,
            description="Too short.",
        )  # fmt: skip
    assert error.value.http_status == 422
    (failed,) = error.value.detail["policies"]
    assert failed["policy"] == "global:described" and failed["howToComply"] == HOW
    assert not DataProduct.objects.filter(slug="returns").exists()
    assert not AuditEvent.objects.filter(action="product.registered").exists()


def test_a_warning_is_saved_and_the_change_goes_through(people) -> None:
    policy(people.governance, severity="warning")
    product = products.register_product(
        domain=people.sales, slug="returns", title="Returns", actor=people.engineer,
        description="Too short.",
    )  # fmt: skip
    (evaluation,) = Evaluation.objects.filter(product=product)
    assert not evaluation.passed and evaluation.current and evaluation.moment == "change"
    assert "30 needed" in evaluation.message


def test_an_update_and_a_contract_publish_are_judged_too(people) -> None:
    product = products.register_product(
        domain=people.sales, slug="returns", title="Returns", actor=people.engineer,
        description="Returned items with their reason, one row per item.",
    )  # fmt: skip
    policy(people.governance)
    quality = {"builtin": "quality_rules", "params": {"min": 1}}
    policy(people.governance, slug="quality", rule=quality)
    with pytest.raises(PolicyFailed):
        products.update_product(product=product, actor=people.engineer, description="Short.")
    with pytest.raises(PolicyFailed) as error:
        products.publish_contract(product=product, document=odcs_document(), actor=people.engineer)
    assert [p["policy"] for p in error.value.detail["policies"]] == ["global:quality"]
    assert DataProduct.objects.get(pk=product.pk).current_contract is None


def test_a_domain_policy_applies_only_to_its_domain(people) -> None:
    policy(people.owner, domain=people.sales, slug="sales-described")
    products.register_product(
        domain=people.hr, slug="leave", title="Leave", actor=people.outsider, description="x"
    )
    with pytest.raises(PolicyFailed):
        products.register_product(
            domain=people.sales, slug="leave", title="Leave", actor=people.engineer, description="x"
        )


def test_an_approved_waiver_excuses_the_product_until_it_expires(people) -> None:
    product = ProductFactory(domain=people.sales, slug="returns", description="")
    rule = policy(people.governance)
    with pytest.raises(Forbidden):
        services.request_waiver(
            actor=people.engineer, policy=rule, product=product, reason="Migrating.",
            until=timezone.now() + timedelta(days=7),
        )  # fmt: skip
    waiver = services.request_waiver(
        actor=people.owner, policy=rule, product=product, reason="Migrating the docs.",
        until=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    with pytest.raises(Forbidden):
        services.decide_waiver(actor=people.owner, waiver=waiver, approve=True)
    services.decide_waiver(actor=people.governance, waiver=waiver, approve=True)
    current = Evaluation.objects.get(product=product, current=True)
    assert not current.passed and current.waived
    products.update_product(product=product, actor=people.engineer, title="Returns (all)")
    assert Evaluation.objects.get(product=product, current=True).waived
    Waiver.objects.filter(pk=waiver.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # Ended: the next judgement no longer excuses it (its runs are held again).
    products.update_product(product=product, actor=people.engineer, title="Returns again")
    current = Evaluation.objects.get(product=product, current=True)
    assert not current.passed and not current.waived
    assert AuditEvent.objects.filter(action="waiver.approved").count() == 1


def test_a_waiver_needs_a_reason_and_a_bounded_end(people) -> None:
    product = ProductFactory(domain=people.sales, slug="returns")
    rule = policy(people.governance)
    for reason, days in (("", 7), ("Because.", 0), ("Because.", 365)):
        with pytest.raises(Invalid):
            services.request_waiver(
                actor=people.owner, policy=rule, product=product, reason=reason,
                until=timezone.now() + timedelta(days=days),
            )  # fmt: skip
    assert not Waiver.objects.exists()


def test_a_draft_is_tried_on_every_product_without_saving(people) -> None:
    ProductFactory(domain=people.hr, slug="leave", description="")
    report = services.try_policy(actor=people.governance, domain=None, rule=DESCRIBED)
    assert report.products == DataProduct.objects.count()
    failing = {row["product"] for row in report.failing}
    assert "hr/leave" in failing
    assert report.summary.startswith(f"This would fail {len(failing)} of {report.products}")
    assert not Policy.objects.exists() and not Evaluation.objects.exists()
    with pytest.raises(Forbidden):
        services.try_policy(actor=people.owner, domain=None, rule=DESCRIBED)


def test_a_new_policy_judges_at_once_and_the_sweep_records_only_changes(people) -> None:
    DataProduct.objects.filter(pk=people.internal.pk).update(description="")
    policy(people.governance, severity="warning")
    active = DataProduct.objects.exclude(status="retired").count()
    assert Evaluation.objects.filter(current=True).count() == active  # judged on creation
    assert services.sweep() == 0  # nothing changed
    DataProduct.objects.filter(pk=people.internal.pk).update(
        description="x" * 40, owner=people.engineer
    )
    assert services.sweep() == 1
    assert Evaluation.objects.filter(product=people.internal).count() == 2
    assert Evaluation.objects.filter(product=people.internal, current=True).get().passed
    mesh, domains = scores()
    assert mesh.judged == active
    assert {score.domain for score in domains} == {"sales", "hr"}


def test_a_disabled_policy_stops_counting_and_keeps_its_history(people) -> None:
    created = policy(people.governance, severity="warning")
    judged = Evaluation.objects.filter(policy=created).count()
    services.update_policy(policy=created, actor=people.governance, enabled=False)
    assert scores()[0].judged == 0
    assert Evaluation.objects.filter(policy=created).count() == judged
    services.update_policy(policy=created, actor=people.governance, enabled=True)
    assert scores()[0].judged == judged


def test_views_cost_the_same_queries_for_one_product_or_many(
    people, django_assert_max_num_queries
) -> None:
    for n in range(30):
        ProductFactory(domain=people.sales, slug=f"p{n}")
    rows = list(for_policies(DataProduct.objects.all()))
    with django_assert_max_num_queries(3):
        views = views_of(rows, timezone.now())
    assert len(views) == DataProduct.objects.count()


def test_collecting_judges_without_refusing_or_recording(people) -> None:
    policy(people.governance)
    with collecting() as found:
        products.register_product(
            domain=people.sales, slug="returns", title="Returns", actor=people.engineer,
            description="x",
        )  # fmt: skip
    assert [v.passed for v in found.values()] == [False]
    assert not Evaluation.objects.filter(product__slug="returns").exists()


def test_the_sweep_ends_waivers_that_ran_out_once_and_audits_it(people) -> None:
    product = ProductFactory(domain=people.sales, slug="returns", description="")
    rule = policy(people.governance, severity="warning")
    waiver = services.request_waiver(
        actor=people.owner, policy=rule, product=product, reason="Docs being rewritten.",
        until=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    services.decide_waiver(actor=people.governance, waiver=waiver, approve=True)
    assert Evaluation.objects.get(product=product, current=True).waived
    services.sweep(now=timezone.now() + timedelta(days=2))
    assert Waiver.objects.get(pk=waiver.pk).status == Waiver.Status.EXPIRED
    assert not Evaluation.objects.get(product=product, current=True).waived
    services.sweep(now=timezone.now() + timedelta(days=3))
    assert AuditEvent.objects.filter(action="waiver.expired").count() == 1


def test_a_product_already_failing_is_fixed_one_policy_at_a_time_but_never_made_worse(
    people,
) -> None:
    product = ProductFactory(
        domain=people.sales, slug="returns", description="", owner=people.engineer
    )
    policy(people.governance)  # fails: no description
    policy(people.governance, slug="tagged", rule={"cel": "size(product.tags) > 0"})  # fails too
    # Fixing one of the two goes through although the other still fails.
    products.update_product(product=product, actor=people.engineer, description="x" * 40)
    assert Evaluation.objects.get(product=product, policy__slug="described", current=True).passed
    # Breaking the one that now passes is refused.
    with pytest.raises(PolicyFailed):
        products.update_product(product=product, actor=people.engineer, description="short")
    # Retiring is never refused.
    products.change_status(product=product, status="retired", actor=people.engineer)
