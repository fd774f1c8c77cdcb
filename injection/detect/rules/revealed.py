from dataclasses import dataclass


@dataclass(frozen=True)
class Revealed:
    """Text a rule uncovered (decoded, or stripped of what hid it) at [start, end) of the scanned
    text: the scanner scans it again and reports what it finds there under `detector`."""

    detector: str
    start: int
    end: int
    text: str
