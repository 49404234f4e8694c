"""Where a product's data lives and what checks it: table URIs, output ports, validator, spec."""

from __future__ import annotations

from django.conf import settings

from meshplatform.keys import quarantine_hash_key
from meshplatform.pipeline.errors import StepFailed
from meshplatform.pipeline.spec import PipelineSpec, parse_pipeline
from products.contracts import parse_contract
from products.contracts.enforce import Validator, compile_contract
from products.models import DataProduct, Port


def table_uri(domain: str, product: str, port: str) -> str:
    return f"{settings.LAKE_URI.rstrip('/')}/{domain}/{product}/{port}"


def quarantine_uri(domain: str, product: str, port: str) -> str:
    return f"{table_uri(domain, product, port)}.quarantine"


def output_ports(product: DataProduct) -> list[str]:
    names = [p.name for p in product.ports.all() if p.direction == Port.Direction.OUTPUT]
    return names or ["default"]


def output_port(product: DataProduct, spec: PipelineSpec | None) -> str:
    ports = output_ports(product)
    if spec is not None and spec.output is not None:
        if spec.output not in ports:
            raise StepFailed(f"The pipeline's output {spec.output!r} is not an output port.")
        return spec.output
    return ports[0]


def compiled(product: DataProduct) -> Validator:
    if product.current_contract is None:
        raise StepFailed("The product has no contract.")
    parsed = parse_contract(product.current_contract.document)
    return compile_contract(parsed, hash_key=quarantine_hash_key())


def spec_of(product: DataProduct) -> PipelineSpec | None:
    return parse_pipeline(product.pipeline) if product.pipeline else None
