"""schemathesis over the whole API with a caseworker's token (tests/support/fuzz.py)."""

import pytest

from .support.fuzz import fuzz_as


@pytest.mark.slow
def test_schemathesis_as_a_caseworker_finds_no_server_error_and_no_schema_violation(
    demo_data, live_server, tmp_path
):
    fuzz_as("caseworker", live_server, tmp_path)
