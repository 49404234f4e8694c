"""Run the same call from several threads at one moment, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(call: Callable[[], T], times: int = 2) -> list[T]:
    """`call`'s results (or exceptions), from `times` threads released together."""
    start = threading.Barrier(times)
    results: list[T] = []

    def one() -> None:
        start.wait()
        try:
            results.append(call())
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
