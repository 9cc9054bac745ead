"""gunicorn settings for `make serve` (gunicorn reads this file from the working directory).

WEB_CONCURRENCY sets the number of worker processes (default 2), parsed as strictly as
the Django settings parse theirs.
"""

import gc
from pathlib import Path

from tunix_rt.env import env_int, load_env_file

load_env_file(default=Path(__file__).resolve().parent / ".env")
wsgi_app = "tunix_rt.wsgi:application"
workers = env_int("WEB_CONCURRENCY", 2)
# Query strings such as an export's system prompt can be long; Django bounds each field itself.
limit_request_line = 0
accesslog = "-"


def post_worker_init(worker: object) -> None:
    """Once the app is loaded, its objects (modules, models, URL patterns) move out of the
    collector's reach: a full collection then walks only what requests made, not 100,000+
    objects that live as long as the worker (a batch import paid ~25 ms for them)."""
    gc.freeze()
