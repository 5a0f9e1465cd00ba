from __future__ import annotations

from valet.progress import Progress, human_bytes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_ten_percent_and_one_at_the_end() -> None:
    lines: list[str] = []
    clock = Clock()
    p = Progress("upload x", 1000, every_percent=10, every_seconds=1e9, emit=lines.append,
                 clock=clock, min_total=0)
    for _ in range(100):
        clock.now += 0.01
        p.update(10)
    p.done()
    # 10%, 20%, ... 90% while running; 100% only once, as the final "done" line
    assert len(lines) == 10
    assert lines[0].startswith("upload x: 100 B / 1000 B (10%) at ")
    assert lines[-1].endswith(" done") and "(100%)" in lines[-1]
    p.done()
    assert len(lines) == 10


def test_time_based_lines_without_a_total() -> None:
    lines: list[str] = []
    clock = Clock()
    p = Progress("download", None, every_seconds=5, emit=lines.append, clock=clock)
    p.update(1024)
    assert lines == []
    clock.now = 6
    p.update(1024)
    assert lines == ["download: 2.0 KiB at 341 B/s"]


def test_human_bytes() -> None:
    assert human_bytes(5) == "5 B"
    assert human_bytes(3 * 1024 * 1024) == "3.0 MiB"
    assert human_bytes(5 * 1024**4) == "5120.0 GiB"


def test_small_files_get_only_the_final_line() -> None:
    lines: list[str] = []
    p = Progress("upload small", 1000, emit=lines.append, clock=Clock())
    for _ in range(10):
        p.update(100)
    p.done()
    assert len(lines) == 1 and lines[0].startswith("upload small: 1000 B / 1000 B (100%)")
