"""Who may supply which input in a metric file: the rows an uploader may not supply
(a score, a flag, programme membership, a rating, a published result) are refused, each
with the reason the caller's policy gives. Pure: the service passes the policy in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .checks import KIND_FLAG, KIND_PROGRAMME, KIND_PUBLISHED, KIND_RATING, KIND_SCORE

if TYPE_CHECKING:
    from .checks import Rows
    from .coded import Coded


@dataclass(frozen=True)
class Authority:
    """Which kinds of input an uploader may supply, for which organisations: per kind the
    organisation codes (``None``: any); a kind not in ``kinds`` may not be supplied at all.
    ``refusals`` holds, per kind, the message for a row that is refused."""

    kinds: Mapping[str, frozenset[str] | None]
    refusals: Mapping[str, str] = field(default_factory=dict)

    def refuse(self, rows: Rows, mask: np.ndarray, kind: str, column: str, values: Coded) -> None:
        """An error for each row under ``mask`` whose organisation the uploader may not
        supply ``kind`` for."""
        if not mask.any():
            return
        codes = self.kinds.get(kind, frozenset())
        if codes is None:
            return
        message = self.refusals.get(kind) or f"You may not supply inputs of kind '{kind}'."
        rows.errors.add(mask & ~rows.org_code.isin(codes), column, values, message)


#: The kinds of input whose rows need their own authority (metric values are covered by the
#: uploader's scope: :func:`check_organisations`).
AUTHORISED_KINDS = (KIND_SCORE, KIND_FLAG, KIND_PROGRAMME, KIND_RATING, KIND_PUBLISHED)


def check_authority(rows: Rows, authority: Authority | None) -> None:
    """Each row that supplies something other than a metric value (a score, a flag,
    programme membership, a rating, a published result) is one the uploader may supply for
    that organisation; ``None``: no limit (an import by the system)."""
    if authority is None:
        return
    supplied = rows.known_org & ~rows.blank
    for kind in AUTHORISED_KINDS:
        mask = supplied & rows.kind.eq(kind)
        authority.refuse(rows, mask, kind, rows.columns["metric_id"], rows.metric_id)
