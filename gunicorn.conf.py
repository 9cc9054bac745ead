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


# A young-generation collection every GC_YOUNG_THRESHOLD allocations instead of Python's 700:
# a batch import allocates ~60,000 container objects that die with the request, and the
# default thresholds ran ~32 young and ~3 older collections per batch, ~25 ms in all (~7 ms
# at 50,000). Real cycles are still collected, a little later.
GC_YOUNG_THRESHOLD = 50_000


def post_worker_init(worker: object) -> None:
    """Once the app is loaded, its objects (modules, models, URL patterns) move out of the
    collector's reach: a full collection then walks only what requests made, not 100,000+
    objects that live as long as the worker (a batch import paid ~25 ms for them). The
    young generation is collected less often (``GC_YOUNG_THRESHOLD``)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
