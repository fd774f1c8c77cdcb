"""django-csp's header built once per process from the settings, not again for every response.

django-csp's middleware builds the Content-Security-Policy header (and its report-only twin)
from CONTENT_SECURITY_POLICY on every response (csp.utils.build_policy), about 4% of the CPU of
the gate API's allow answer in a uvicorn process (bench/README.md, gate_cpu). For a response
without per-view changes (django-csp's decorators) to a request that used no nonce, that is a
function of the settings alone, so it is built once and kept until those settings change (tests
override them). Every other response's header is built as django-csp builds it.
"""

from functools import lru_cache
from typing import Any

import csp.middleware
from csp.utils import DIRECTIVES_T, build_policy
from django.core.signals import setting_changed

_POLICY_SETTINGS = frozenset({"CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"})


def csp_policy_cache_install() -> None:
    """Have django-csp's middleware take the settings' policy from here (once, at startup)."""
    csp.middleware.build_policy = _policy
    setting_changed.connect(_settings_changed, dispatch_uid="console.csp_cache")


def _policy(
    config: DIRECTIVES_T | None = None,
    update: DIRECTIVES_T | None = None,
    replace: DIRECTIVES_T | None = None,
    nonce: str | None = None,
    report_only: bool = False,
) -> str:
    if config is None and update is None and replace is None and nonce is None:
        return _settings_policy(report_only)
    return build_policy(config=config, update=update, replace=replace, nonce=nonce, report_only=report_only)


@lru_cache(maxsize=2)
def _settings_policy(report_only: bool) -> str:
    return build_policy(report_only=report_only)


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _POLICY_SETTINGS:
        _settings_policy.cache_clear()
