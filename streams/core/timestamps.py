"""RFC 3339 timestamps <-> UTC microseconds since the epoch, exactly as the spec says."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["MAX_US", "MIN_US", "format_utc", "parse_rfc3339", "to_datetime"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MIN_US = -62135596800 * 1_000_000  # 0001-01-01T00:00:00Z
MAX_US = 253402300799999999  # 9999-12-31T23:59:59.999999Z


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic calendar.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 date-time with an offset; raise ValueError when it is not one."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time with an offset")
    year, month, day, hour, minute, second, frac, z, sign, oh, om = match.groups()
    y, mo, d = int(year), int(month), int(day)
    h, mi, s = int(hour), int(minute), int(second)
    if not 1 <= mo <= 12 or y < 1:
        raise ValueError("date out of range")
    leap = mo == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not 1 <= d <= _DAYS_IN_MONTH[mo] + leap:
        raise ValueError("day out of range for month")
    if h > 23 or mi > 59 or s > 59:
        raise ValueError("time out of range")
    offset = 0
    if z is None:
        off_h, off_m = int(oh), int(om)
        if off_h > 23 or off_m > 59:
            raise ValueError("offset out of range")
        offset = (off_h * 60 + off_m) * 60
        if sign == "-":
            offset = -offset
    micros = int((frac + "00000")[:6]) if frac else 0
    seconds = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
    value = seconds * 1_000_000 + micros
    if not MIN_US <= value <= MAX_US:
        raise ValueError("date-time out of range once converted to UTC")
    return value


def to_datetime(micros: int) -> datetime:
    """UTC microseconds since the epoch as an aware datetime."""
    return _EPOCH + timedelta(microseconds=micros)


def format_utc(micros: int) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, or with `.ffffff` when the fraction is not zero."""
    dt = to_datetime(micros)
    # explicit padding: strftime's %Y does not pad years below 1000 on glibc
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if dt.microsecond:
        return f"{text}.{dt.microsecond:06d}Z"
    return text + "Z"
