"""What the Chromium journeys share."""

from tests.factories import PASSWORD


def sign_in(page, base: str, username: str) -> None:
    """Sign in through the real form, as a person does, and wait for the profile page."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")
