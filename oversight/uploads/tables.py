"""What reading a file gives back, and the limits it is read within."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from .problems import Problem
from .shape import ShapeLimits

ROW = "_row"
CHUNK_ROWS = 250_000

Progress = Callable[[int, str], None]


@dataclass
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: int = 100
    max_rows: int = 2_000_000
    max_columns: int = 100
    max_cell_chars: int = 5_000

    @property
    def shape(self) -> ShapeLimits:
        return ShapeLimits(self.max_rows, self.max_columns, self.max_cell_chars)


@dataclass
class RawTable:
    frame: pd.DataFrame
    file_type: str
    encoding: str = ""
    sheet: str = ""
    warnings: list[Problem] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"
