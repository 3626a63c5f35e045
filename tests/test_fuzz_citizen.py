"""schemathesis over the whole API with a citizen's token (tests/support/fuzz.py)."""

import pytest

from .support.fuzz import fuzz_as


@pytest.mark.slow
def test_schemathesis_as_a_citizen_finds_no_server_error_and_no_schema_violation(
    demo_data, live_server, tmp_path
):
    fuzz_as("citizen", live_server, tmp_path)
