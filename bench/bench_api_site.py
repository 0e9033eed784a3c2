"""Production settings plus a trivial JSON view (``/bench/floor/``, in ``bench_api_urls``):
the floor the API benchmark compares against. Used only by ``bench_api.py``."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_api_urls"
