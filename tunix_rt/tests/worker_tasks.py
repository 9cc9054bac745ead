"""A task for the worker tests: it appends its label and the worker's pid to a file."""

from __future__ import annotations

import os

from django_tasks import task


@task()
def record_run(path: str, label: str) -> str:
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{label} {os.getpid()}\n")
    return label
