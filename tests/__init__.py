"""The test suite.

The app's "today" is the networks' day (app.core.dates.local_today, Europe/Amsterdam). Tests compare with
date.today(), and some parametrize on it at collection time: the test process runs in the same zone, so a
run near midnight UTC (as CI's can be) never sees two different days. This package is imported before
conftest and every test module, so the zone is set before any date is taken.
"""
import os
import time

os.environ["TZ"] = "Europe/Amsterdam"
time.tzset()
