"""The service's own settings, with the naive baseline endpoints added to the urlconf."""

from ractory.settings import *  # noqa: F403 - the real settings, unchanged but for the urlconf

ROOT_URLCONF = "bench.urls"
