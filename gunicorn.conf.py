"""gunicorn settings for `make serve`, the production server (gunicorn reads this file from the working directory).

Production settings or nothing: the environment only (no `.env`; an env file only when
TUNIX_RT_ENV_FILE names one), and no start with DEBUG on or a weak SECRET_KEY
(``tunix_rt/production.py``). WEB_CONCURRENCY sets the number of worker processes (default 2),
parsed as strictly as the Django settings parse theirs.
"""

import gc

from tunix_rt.env import env_bool, env_int
from tunix_rt.production import production_check, production_env_load

production_env_load()
production_check()
wsgi_app = "tunix_rt.wsgi:application"
workers = env_int("WEB_CONCURRENCY", 2)
# Query strings such as an export's system prompt can be long; Django bounds each field itself.
limit_request_line = 0
accesslog = "-"

# The request's scheme comes from a proxy's header only when TRUST_X_FORWARDED_PROTO says a
# TLS-terminating proxy sets it, and then only X-Forwarded-Proto, the header Django's
# SECURE_PROXY_SSL_HEADER reads; trusted from gunicorn's FORWARDED_ALLOW_IPS (default loopback).
# Otherwise no peer is trusted and no header is read: gunicorn's defaults would believe
# X-Forwarded-Proto, -Ssl and -Protocol from any local client, and from every Unix-socket peer.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
else:
    forwarded_allow_ips = ""
    secure_scheme_headers = {}
    forwarder_headers = ""


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
