"""Conformance reporting for the whole session (registered whenever this folder is collected).

The terminal summary shows how many emulator responses were validated against the reference
schemas (by operation, over every test that ran an emulator with ``RECORDER.observe``), how
many recorded interactions and httpExamples were replayed, and each skip with its reason.

Schema failures that no test reported (an emulator started without the fixture's
``assert_clean`` teardown, e.g. a session-scoped one) turn a green session red here.
"""

from __future__ import annotations

import pytest

from tests.conformance.replay import REPORT
from tests.reference_schemas import RECORDER


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not (sum(RECORDER.validated.values()) or RECORDER.failures or REPORT.interactions):
        return
    terminalreporter.write_sep("=", "Azure DevOps conformance")
    for line in RECORDER.summary_lines() + REPORT.summary_lines():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    unreported = RECORDER.unreported
    if unreported and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
