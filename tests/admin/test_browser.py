"""The admin in a real browser (headless Debian Chromium through Selenium, against `live_server`): an operator
logs in, marks a droplet erred from the changelist and sees the outcome on a page styled by the admin's CSS.

Skipped where Chromium is missing (a laptop); CI installs Debian's `chromium` and `chromium-driver`."""

from pathlib import Path

import pytest
from django.utils.text import capfirst

pytest.importorskip("selenium", reason="selenium is not installed: pip install -e '.[dev]'")

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from droplets.states import State

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# As root in a container: no sandbox, GPU or big /dev/shm; and no calls home, which a closed network refuses.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,1000",
)
PASSWORD = "operator-password"
WAIT_SECONDS = 15

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install -y chromium chromium-driver",
)


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    # Naming the driver keeps Selenium Manager from trying to download one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_operator_marks_a_droplet_erred_from_the_changelist(
    live_server, browser, operator, droplet, tmp_path
):
    operator.set_password(PASSWORD)
    operator.save(update_fields=["password"])
    wait = WebDriverWait(browser, WAIT_SECONDS)

    browser.get(f"{live_server.url}/admin/login/?next=/admin/droplets/droplet/")
    browser.find_element(By.NAME, "username").send_keys(operator.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    row_checkbox = (By.CSS_SELECTOR, f"input[name=_selected_action][value='{droplet.pk}']")
    wait.until(expected_conditions.element_to_be_clickable(row_checkbox)).click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text("Mark erred")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    message = wait.until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    screenshot = tmp_path / "admin-droplet-mark-erred.png"
    browser.save_screenshot(screenshot)
    assert message.text == capfirst(f"{droplet.name}: marked as erred."), screenshot  # as the admin shows it
    assert "Erred" in browser.find_element(By.ID, "result_list").text, screenshot
    droplet.refresh_from_db()
    assert droplet.state == State.ERRED
    # The admin's stylesheet was served and applied: unstyled, the header would have no background.
    header = browser.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)", screenshot


def _log_in(browser, live_server, operator, next_path):
    operator.set_password(PASSWORD)
    operator.save(update_fields=["password"])
    browser.get(f"{live_server.url}/admin/login/?next={next_path}")
    browser.find_element(By.NAME, "username").send_keys(operator.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def _fits(browser) -> bool:
    """No horizontal scrollbar, neither the page's nor the changelist table's own."""
    return browser.execute_script(
        "const results = document.querySelector('.results');"
        "return document.documentElement.scrollWidth <= window.innerWidth"
        " && (!results || results.scrollWidth <= results.clientWidth)"
    )


def test_operator_triages_a_droplet_that_failed_overnight(
    live_server, browser, operator, world, catalog, tmp_path
):
    """From the index's panel to the erred droplets, the failed one's history (who asked, what DigitalOcean
    answered), a stop on a healthy droplet with its result, and the metrics, at 1400 px without scrolling."""
    from droplets import services
    from tests.fixtures.droplets import make_droplet

    failed = make_droplet(project=world.project, catalog=catalog, name="db-1")
    services.droplet_restart(droplet=failed, actor=world.users["manager"])
    services.droplet_set_erred(
        droplet=failed, message="DigitalOcean could not restart the droplet: its reboot action failed."
    )
    healthy = make_droplet(project=world.project, catalog=catalog, name="web-1")
    browser.set_window_size(1400, 1000)
    wait = WebDriverWait(browser, WAIT_SECONDS)
    shots = []

    def shot(name):
        path = tmp_path / f"triage-{len(shots) + 1}-{name}.png"
        browser.save_screenshot(path)
        shots.append(path)
        return path

    _log_in(browser, live_server, operator, "/admin/")
    panel = wait.until(expected_conditions.visibility_of_element_located((By.ID, "droplet-dashboard")))
    shot("index")
    assert "droplets: 2" in panel.text.lower()
    panel.find_element(By.LINK_TEXT, "Erred").click()

    wait.until(expected_conditions.visibility_of_element_located((By.ID, "result_list")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert shot("erred") and len(rows) == 1 and "db-1" in rows[0].text, shots[-1]
    assert "reboot action failed" in rows[0].text or "its reboot" in rows[0].get_attribute("innerHTML")
    assert _fits(browser), shots[-1]
    rows[0].find_element(By.LINK_TEXT, "db-1").click()

    history = wait.until(
        expected_conditions.visibility_of_element_located((By.CLASS_NAME, "droplet-history"))
    )
    browser.execute_script("arguments[0].scrollIntoView()", history)
    shot("history")
    assert "resource_restart_scheduled" in history.text and world.users["manager"].username in history.text
    assert "resource_set_erred" in history.text and "reboot action failed" in history.text

    browser.get(f"{live_server.url}/admin/droplets/droplet/")
    checkbox = (By.CSS_SELECTOR, f"input[name=_selected_action][value='{healthy.pk}']")
    wait.until(expected_conditions.element_to_be_clickable(checkbox)).click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text("Stop")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    message = wait.until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    shot("stopped")
    assert message.text == capfirst(f"{healthy.name}: stop scheduled."), shots[-1]
    assert _fits(browser), shots[-1]

    browser.get(f"{live_server.url}/metrics")
    body = browser.find_element(By.TAG_NAME, "body").text
    shot("metrics")
    assert 'waldur_do_droplets{state="ERRED"} 1.0' in body, shots[-1]
    assert 'waldur_do_droplet_operations_in_flight{operation="stop",state="UPDATE_SCHEDULED"} 1.0' in body
