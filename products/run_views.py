"""Portal pages for pipelines: the Runs and Data tabs, a run, the pipeline editor, lineage and
a domain's connections.

As in `products.views`, views authenticate and present; `products.runs` authorises and writes
and `products.data` reads the lake. A service's Forbidden becomes the 403 page, any other
PlatformError is shown on the form or as a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from domains.models import Domain
from domains.permissions import can_edit_products, can_see_connections
from meshplatform.errors import Forbidden, Invalid, NotFound, PlatformError
from products import data, lineage_graph
from products.lineage_svg import lineage_picture
from products.models import Connection, DataProduct, Run
from products.run_forms import PIPELINE_EXAMPLE, ConnectionForm, PipelineForm, pipeline_text
from products.runs import delete_connection, set_connection, set_pipeline, trigger_run
from products.views import product_page, visible_product

RECENT_RUNS = 20
PREVIEW_ROWS = 50
# The stages a run reports, in order; the progress bar counts through them.
PIPELINE_STAGES = [
    Run.Stage.EXTRACT,
    Run.Stage.TRANSFORM,
    Run.Stage.VALIDATE,
    Run.Stage.QUARANTINE,
    Run.Stage.PUBLISH,
    Run.Stage.LINEAGE,
]


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def runs_url(product: DataProduct) -> str:
    return reverse("product-runs", args=[product.domain.slug, product.slug])


# --- Runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    stage: str


def progress_of(run: Run) -> Progress:
    stage = Run.Stage(run.stage)
    if stage == Run.Stage.DONE:
        step = len(PIPELINE_STAGES)
    elif stage in PIPELINE_STAGES:
        step = PIPELINE_STAGES.index(stage) + 1
    else:
        step = 0
    return Progress(step=step, steps=len(PIPELINE_STAGES), stage=stage.label)


@login_required
@require_GET
def product_runs(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    runs = list(item.runs.all()[:RECENT_RUNS])
    active = next((run for run in runs if run.is_active), None)
    context = product_page(
        request,
        item,
        "runs",
        runs=[(run, seconds_text(run.duration)) for run in runs],
        active_run=active,
        progress=progress_of(active) if active else None,
    )
    return render(request, "products/product_detail.html", context)


@login_required
@require_POST
def run_trigger(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    try:
        run = trigger_run(product=item, actor=request.user)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PlatformError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Run #{run.pk} of {item.address} is queued.")
    return redirect(runs_url(item))


@login_required
@require_GET
def run_progress(request: HttpRequest, domain: str, product: str, run: int) -> HttpResponse:
    """The progress bar, polled while the run is active; once it ends, the final state
    without the polling trigger, and an event for the page to refresh what depends on it."""
    item = visible_product(request, domain, product)
    found = get_object_or_404(item.runs.all(), pk=run)
    context = {"product": item, "run": found, "progress": progress_of(found)}
    response = render(request, "products/_run_progress.html", context)
    if not found.is_active:
        response["HX-Trigger"] = "run-finished"
    return response


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def stage_bars(run: Run) -> list[dict[str, Any]]:
    """Each stage's start and length as percentages of the run, for a small bar apiece."""
    spans = []
    for stage in run.stages:
        started = _moment(stage.get("started_at"))
        if started is None:
            continue
        finished = _moment(stage.get("finished_at"))
        spans.append((stage, started, finished or timezone.now(), finished is None))
    if not spans:
        return []
    begin = min(started for _, started, _, _ in spans)
    total = max((end - begin).total_seconds() for _, _, end, _ in spans) or 1.0
    bars = []
    for stage, started, end, running in spans:
        seconds = (end - started).total_seconds()
        name = stage.get("name", "")
        bars.append(
            {
                "name": Run.Stage(name).label if name in Run.Stage.values else name,
                "started": started,
                "duration": seconds_text(seconds) + (" so far" if running else ""),
                "x": round(100 * (started - begin).total_seconds() / total, 2),
                "width": max(round(100 * seconds / total, 2), 0.5),  # a blink still shows
            }
        )
    return bars


def quality_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for rule, counts in sorted((report.get("rule_counts") or {}).items()):
        checked, failed = int(counts.get("checked", 0)), int(counts.get("failed", 0))
        rate = 100.0 * (checked - failed) / checked if checked else None
        rows.append(
            {
                "rule": rule,
                "checked": checked,
                "failed": failed,
                "rate": rate,
                "rate_text": "—" if rate is None else f"{rate:.1f} %",
            }
        )
    return rows


def quarantine_table(sample: list[dict[str, Any]]) -> dict[str, Any]:
    hidden = {"_errors", "_row"}
    columns: list[str] = []
    for row in sample:
        columns += [key for key in row if key not in hidden and key not in columns]
    return {
        "columns": columns,
        "rows": [
            {
                "number": row.get("_row"),
                "values": [row.get(column) for column in columns],
                "reasons": row.get("_errors") or [],
            }
            for row in sample
        ],
    }


@login_required
@require_GET
def run_detail(request: HttpRequest, domain: str, product: str, run: int) -> HttpResponse:
    item = visible_product(request, domain, product)
    found = get_object_or_404(item.runs.select_related("triggered_by", "upstream_run"), pk=run)
    context = {
        "section": "catalog",
        "product": item,
        "run": found,
        "crumb": f"run #{found.pk}",
        "duration": seconds_text(found.duration),
        "progress": progress_of(found),
        "stages": stage_bars(found),
        "rules": quality_rows(found.quality),
        "verdicts": (found.quality or {}).get("dataset") or [],
    }
    sample = data.quarantine_sample(found, reader=request.user)
    context["quarantine"] = quarantine_table(sample) if sample is not None else None
    return render(request, "products/run_detail.html", context)


# --- Data ------------------------------------------------------------------------------------


def _commit_time(milliseconds: Any) -> datetime | None:
    if not isinstance(milliseconds, int | float):
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


@login_required
@require_GET
def product_data(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    context = product_page(request, item, "data", history=[], preview=None, problem=None)
    status = 200
    try:
        context["history"] = [
            {**entry, "when": _commit_time(entry.get("timestamp"))} for entry in data.versions(item)
        ]
    except NotFound as exc:
        context["missing"] = exc.message
        return render(request, "products/product_detail.html", context)
    try:
        shown = data.preview(
            item, reader=request.user, version=request.GET.get("version"), limit=PREVIEW_ROWS
        )
    except data.AccessRequired as exc:
        context["access_required"] = exc.message
    except PlatformError as exc:
        context["problem"] = exc.message
        status = exc.http_status
    else:
        names = [column["name"] for column in shown["columns"]]
        shown["values"] = [[row.get(name) for name in names] for row in shown["rows"]]
        context["preview"] = shown
    return render(request, "products/product_detail.html", context, status=status)


@login_required
@require_GET
def data_download(request: HttpRequest, domain: str, product: str, fmt: str) -> HttpResponseBase:
    item = visible_product(request, domain, product)
    try:
        file = data.download(item, reader=request.user, fmt=fmt, version=request.GET.get("version"))
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Invalid as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    return data.attachment(file)


# --- Pipeline --------------------------------------------------------------------------------


@login_required
def pipeline_edit(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    if request.method != "POST" and not can_edit_products(request.user, item.domain):
        raise PermissionDenied(f"Only engineers and owners of '{item.domain.slug}' edit pipelines.")
    form = PipelineForm(
        request.POST if request.method == "POST" else None,
        initial={"spec": pipeline_text(item.pipeline)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            set_pipeline(product=item, pipeline=form.cleaned_data["spec"], actor=request.user)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PlatformError as exc:
            form.add_platform_error(exc)
        else:
            done = "saved" if item.pipeline else "removed"
            messages.success(request, f"The pipeline of {item.address} is {done}.")
            return redirect(runs_url(item))
    context = {"section": "catalog", "product": item, "form": form, "example": PIPELINE_EXAMPLE}
    return render(
        request, "products/pipeline_form.html", context, status=400 if form.errors else 200
    )


# --- Lineage ---------------------------------------------------------------------------------


@login_required
@require_GET
def product_lineage(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    connections_url = ""
    if can_see_connections(request.user, item.domain):
        connections_url = reverse("domain-connections", args=[item.domain.slug])
    lineage = lineage_graph.product_lineage(item, request.user)
    graph = lineage_picture(lineage, connections_url=connections_url)
    context = {"section": "catalog", "product": item, "graph": graph}
    return render(request, "products/lineage.html", context)


# --- Connections -----------------------------------------------------------------------------


def connections_domain(request: HttpRequest, slug: str) -> Domain:
    """The domain, if the user may see its connections (`can_see_connections`)."""
    domain = get_object_or_404(Domain.objects.visible_to(request.user), slug=slug)
    if not can_see_connections(request.user, domain):
        raise PermissionDenied(f"Only engineers and owners of '{domain.slug}' see its connections.")
    return domain


@login_required
def connections(request: HttpRequest, slug: str) -> HttpResponse:
    domain = connections_domain(request, slug)
    form = ConnectionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = set_connection(domain=domain, actor=request.user, **form.cleaned_data)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PlatformError as exc:
            form.add_platform_error(exc)
        else:
            messages.success(request, f"Saved the connection {connection.name}.")
            return redirect("domain-connections", domain.slug)
    context = {
        "section": "domains",
        "domain": domain,
        "connections": Connection.objects.filter(domain=domain).select_related("updated_by"),
        "can_edit": can_edit_products(request.user, domain),
        "form": form,
    }
    return render(request, "products/connections.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def connection_delete(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    domain = connections_domain(request, slug)
    try:
        delete_connection(domain=domain, name=name, actor=request.user)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Deleted the connection {name}.")
    return redirect("domain-connections", domain.slug)
