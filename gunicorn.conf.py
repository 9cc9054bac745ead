"""gunicorn settings for `make serve` (gunicorn reads this file from the working directory).

WEB_CONCURRENCY sets the number of worker processes (default 2), parsed as strictly as
the Django settings parse theirs.
"""

from pathlib import Path

from tunix_rt.env import env_int, load_env_file

load_env_file(default=Path(__file__).resolve().parent / ".env")
wsgi_app = "tunix_rt.wsgi:application"
workers = env_int("WEB_CONCURRENCY", 2)
# Query strings such as an export's system prompt can be long; Django bounds each field itself.
limit_request_line = 0
accesslog = "-"
