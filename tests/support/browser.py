"""What the Chromium journeys share."""

from tests.factories import PASSWORD

BLOCKING = ("serious", "critical")


def axe_problems(page, label: str) -> list[str]:
    """The serious and critical axe violations of the page as it is now, each named by `label`."""
    from axe_playwright_python.sync_playwright import Axe

    return [
        f"{label}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in BLOCKING
    ]


def sign_in(page, base: str, username: str) -> None:
    """Sign in through the real form, as a person does, and wait for the profile page."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")
