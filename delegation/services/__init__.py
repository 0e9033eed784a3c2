"""Writes for delegated specialised services, one module per concern. Each public function
is one transaction and writes its own audit events; a step that cannot be taken raises
:class:`DelegationError` with a message a person can act on.

Every public name is importable from here (``from delegation import services``).
"""

from __future__ import annotations

from .agreements import (
    add_developmental_arrangement,
    advance_agreements,
    bring_into_force,
    create_agreement,
    record_signature_made_elsewhere,
    schedule_service,
    sign_agreement,
)
from .base import (
    DelegationDataError,
    DelegationError,
)
from .catalogue import (
    add_service,
    change_service,
    check_reclassification,
    retire_service,
    service_problems,
)
from .change_requests import (
    decide_change_request,
    raise_change_request,
    start_change_request,
)
from .collaboration import (
    create_collaboration,
)
from .conditions import (
    ConditionChanges,
    apply_conditions,
    record_icb_segment,
    record_run_icb_segments,
    set_condition_segments,
)
from .datafiles import (
    DATA_DIR,
    POLICY_FILE,
    SERVICES_FILE,
    TIMELINE_FILE,
    DelegationData,
    ServiceRow,
    TimelineRow,
    load_delegation_data,
    read_delegation_data,
)

__all__ = [
    "DATA_DIR",
    "POLICY_FILE",
    "SERVICES_FILE",
    "TIMELINE_FILE",
    "ConditionChanges",
    "DelegationData",
    "DelegationDataError",
    "DelegationError",
    "ServiceRow",
    "TimelineRow",
    "add_developmental_arrangement",
    "add_service",
    "advance_agreements",
    "apply_conditions",
    "bring_into_force",
    "change_service",
    "check_reclassification",
    "create_agreement",
    "create_collaboration",
    "decide_change_request",
    "load_delegation_data",
    "raise_change_request",
    "read_delegation_data",
    "record_icb_segment",
    "record_run_icb_segments",
    "record_signature_made_elsewhere",
    "retire_service",
    "schedule_service",
    "service_problems",
    "set_condition_segments",
    "sign_agreement",
    "start_change_request",
]
