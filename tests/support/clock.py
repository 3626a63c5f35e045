"""Travel to a day in the portal's time zone, the clock standing still (working-day tests)."""

import datetime as dt
import zoneinfo

import time_machine

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10):
    return time_machine.travel(
        dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI), tick=False
    )
