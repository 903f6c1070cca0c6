"""Shared test configuration.

Hypothesis runs with ``deadline=None``: the first call of a numba kernel compiles (or loads from the
on-disk cache), which would otherwise trip hypothesis's per-example deadline.
"""
from hypothesis import HealthCheck, settings

settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("project")
