"""The usage chart as plain data for an inline SVG (no script, no library): one bar per
day, scaled to the busiest day. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from appdb.usage import UsageRow

HEIGHT = 120
BAR = 14
GAP = 4


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    label: str  # the day and its answers, for the bar's title


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    busiest: int
    bar_width: int = BAR


def bars(days: list[UsageRow]) -> Chart:
    busiest = max((day.answers for day in days), default=0)
    drawn = []
    for index, day in enumerate(days):
        height = round(HEIGHT * day.answers / busiest) if busiest else 0
        drawn.append(Bar(index * (BAR + GAP), HEIGHT - height, height, f"{day.key}: {day.answers} answers"))
    return Chart(max(1, len(days) * (BAR + GAP)), HEIGHT, drawn, busiest)
