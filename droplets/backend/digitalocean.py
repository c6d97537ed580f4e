"""The one module that talks to DigitalOcean, through python-digitalocean.

Every library object gets the token, the endpoint and the timeout of *its* service settings explicitly (the
library would otherwise read them from the process environment), so one worker serves many accounts and the
emulator side by side. Every library exception leaves this module as one of `backend.errors`.

python-digitalocean keeps only the `message` of an error answer and drops its status code, its `id` and its
headers, and DigitalOcean words the same error several ways. So each library object we make records the
HTTP answers it receives, and a failure is classified from the last one: its status, DigitalOcean's error
`id`, and `Retry-After` / `ratelimit-reset` for when to try again — never from the English wording.
Only the library's own work runs inside that translation: a bug of ours surfaces as itself.
"""

import contextlib
import email.utils
import logging
import time
from collections.abc import Iterator
from datetime import datetime

import digitalocean
import requests
import urllib3
from digitalocean.baseapi import TokenError

from waldur_do import metrics

from . import errors
from .base import (
    BackendAction,
    BackendDroplet,
    BackendImage,
    BackendRegion,
    BackendSize,
    CreatedDroplet,
    SshKeySpec,
)
from .budget import account_key

logger = logging.getLogger(__name__)

MIB_PER_GIB = 1024
MIB_PER_TIB = 1024 * 1024
# A Retry-After or ratelimit-reset further away than this is not believed (DigitalOcean's longest window).
LONGEST_RATE_LIMIT_WAIT = 3600.0
# Statuses that say nothing about the request itself: the same call may succeed later.
RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
DROPLET_GONE = "The droplet no longer exists on DigitalOcean."


PAGE_SIZE = 200  # the most DigitalOcean gives in one page
# Pages of the account's actions one look reads at most: past 1,000 operations in flight, the oldest are
# asked for one by one.
ACTION_PAGES = 5


def _action(action: dict) -> BackendAction:
    return BackendAction(
        id=str(action["id"]),
        type=action["type"],
        status=action["status"],
        started_at=_parse_time(action.get("started_at")),
    )


class _Exchange:
    """The HTTP answers of one call: every library object made through it records what it receives."""

    def __init__(self, options: dict, budget=None, budget_key: str = ""):
        self._options = options
        self._budget = budget
        self._budget_key = budget_key
        self.response: requests.Response | None = None
        self.method = "GET"

    def make(self, library_class, **fields):
        obj = library_class(**self._options, **fields)
        # The library's one request method, shadowed on this object only, so its answers are seen.
        perform = obj._BaseAPI__perform_request

        def recording(url, type="GET", params=None):
            self.method, self.response = type, None
            if self._budget is not None:
                self._budget.spend(self._budget_key)  # BudgetExhausted: not sent, to be sent later
            try:
                self.response = perform(url, type, params)
            except requests.Timeout:
                metrics.digitalocean_request(type, url, "timeout")
                raise
            except requests.RequestException:
                metrics.digitalocean_request(type, url, "unreachable")
                raise
            metrics.digitalocean_request(type, url, metrics.digitalocean_outcome(self.response.status_code))
            if self._budget is not None:
                self._budget.observe(self._budget_key, self.response.headers)
            return self.response

        obj._BaseAPI__perform_request = recording
        return obj


class DigitalOceanBackend:
    def __init__(
        self, *, token: str, api_url: str, timeout: float, rate_limit_retry: float = 60.0, budget=None
    ):
        self._token = token
        self._budget = budget  # the token's request budget (budget.py); None: unmetered
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._timeout = timeout
        self._rate_limit_retry = rate_limit_retry

    # Account and catalog

    def check_account(self) -> None:
        with self._call() as call:
            call.make(digitalocean.Account).load()

    def list_regions(self) -> list[BackendRegion]:
        regions = self._get_all("regions/", "regions")
        with _reading():
            return [
                BackendRegion(slug=r["slug"], name=r["name"], available=bool(r.get("available", True)))
                for r in regions
            ]

    def list_sizes(self) -> list[BackendSize]:
        sizes = self._get_all("sizes/", "sizes")
        with _reading():
            return [
                BackendSize(
                    slug=s["slug"],
                    cores=int(s["vcpus"]),
                    ram=int(s["memory"]),
                    disk=int(s["disk"]) * MIB_PER_GIB,
                    transfer=int(float(s["transfer"]) * MIB_PER_TIB),
                    price=float(s.get("price_monthly") or 0),
                    regions=tuple(s.get("regions", ())),
                )
                for s in sizes
                if s.get("available", True)
            ]

    def list_images(self) -> list[BackendImage]:
        images = self._get_all("images/", "images")
        with _reading():
            return [
                BackendImage(
                    id=str(i["slug"] or i["id"]),
                    name=i["name"],
                    distribution=i.get("distribution") or "",
                    type=i.get("type") or "",
                    is_official=bool(i.get("public")),
                    created_at=_parse_time(i.get("created_at")),
                    min_disk_size=int(i.get("min_disk_size") or 0) * MIB_PER_GIB,
                    regions=tuple(i.get("regions", ())),
                )
                for i in images
            ]

    # Droplets

    def create_droplet(
        self,
        *,
        name: str,
        region: str,
        size: str,
        image: str,
        user_data: str,
        tag: str,
        ssh_key: SshKeySpec | None,
    ) -> CreatedDroplet:
        """Creates the droplet, tagged with `tag` so that a retried create finds it instead of a twin.
        The SSH key is added to the account first unless it is there already."""
        not_found = errors.RejectedError("DigitalOcean rejected the request: it found no such droplet path.")
        with self._droplet_gone_if_not_found(gone=not_found):
            ssh_keys = [self._ensure_ssh_key(ssh_key)] if ssh_key else []
        with self._droplet_gone_if_not_found(gone=not_found), self._call() as call:
            droplet = call.make(
                digitalocean.Droplet,
                name=name,
                region=region,
                size_slug=size,
                image=int(image) if image.isdecimal() else image,
                ssh_keys=ssh_keys,
                user_data=user_data or None,
                tags=[tag],
            )
            droplet.create()
        with _reading():
            return CreatedDroplet(droplet_id=str(droplet.id), action_id=str(droplet.action_ids[0]))

    def find_droplet_by_tag(self, tag: str) -> BackendDroplet | None:
        droplets = self._get_all("droplets/", "droplets", params={"tag_name": tag})
        with _reading():
            return _droplet(droplets[0]) if droplets else None

    def get_droplet(self, droplet_id: str) -> BackendDroplet:
        with self._droplet_gone_if_not_found(), self._call() as call:
            data = call.make(digitalocean.Manager).get_data(f"droplets/{droplet_id}")
        with _reading():
            return _droplet(data["droplet"])

    def list_droplets(self) -> list[BackendDroplet]:
        return [droplet for page in self.droplet_pages() for droplet in page]

    def droplet_pages(self) -> Iterator[list[BackendDroplet]]:
        """The account's droplets, a page (up to 200) at a time, so a caller holds one page at once."""
        for page in self._pages("droplets/", "droplets"):
            with _reading():
                yield [_droplet(d) for d in page]

    def destroy_droplet(self, droplet_id: str) -> None:
        with self._droplet_gone_if_not_found(), self._call() as call:
            call.make(digitalocean.Droplet, id=droplet_id).destroy()

    def power_on(self, droplet_id: str) -> str:
        return self._droplet_action(droplet_id, lambda d: d.power_on())

    def shutdown(self, droplet_id: str) -> str:
        return self._droplet_action(droplet_id, lambda d: d.shutdown())

    def power_off(self, droplet_id: str) -> str:
        return self._droplet_action(droplet_id, lambda d: d.power_off())

    def reboot(self, droplet_id: str) -> str:
        return self._droplet_action(droplet_id, lambda d: d.reboot())

    def resize(self, droplet_id: str, *, size: str, disk: bool) -> str:
        return self._droplet_action(droplet_id, lambda d: d.resize(size, disk=disk))

    def rename(self, droplet_id: str, *, name: str) -> str:
        return self._droplet_action(droplet_id, lambda d: d.rename(name))

    def get_action(self, droplet_id: str, action_id: str) -> BackendAction:
        with self._droplet_gone_if_not_found(), self._call() as call:
            action = call.make(digitalocean.Action, id=action_id, droplet_id=droplet_id)
            action.load()
        with _reading():
            return BackendAction(
                id=str(action.id),
                type=action.type,
                status=action.status,
                started_at=_parse_time(getattr(action, "started_at", None)),
            )

    @property
    def account_key(self) -> str:
        """Names this account in shared state (backend/shared.py): a hash of the endpoint and token."""
        return account_key(self._api_url, self._token or "")

    def account_actions(self, *, since: datetime | None = None) -> list[BackendAction]:
        """The account's latest actions on every droplet, newest first: a page of up to 200, and the next
        ones until a page reaches back to `since` (the oldest action the caller follows started after it),
        at most ACTION_PAGES in all."""
        actions: list[BackendAction] = []
        for number, page in enumerate(self._pages("actions/", "actions"), start=1):
            with _reading():
                actions.extend(_action(action) for action in page)
            oldest = actions[-1].started_at
            if since is None or number >= ACTION_PAGES or (oldest is not None and oldest <= since):
                break
        return actions

    def recent_actions(self, droplet_id: str) -> list[BackendAction]:
        """The droplet's latest actions, newest first (one page): ours and those DigitalOcean started."""
        with self._droplet_gone_if_not_found(), self._call() as call:
            answer = call.make(digitalocean.Manager).get_data(
                f"droplets/{droplet_id}/actions/", params={"page": 1}
            )
        with _reading():
            return [_action(action) for action in answer["actions"]]

    # Plumbing

    def _options(self) -> dict:
        timeout = self._timeout
        return {"token": self._token, "end_point": self._api_url, "get_timeout": lambda: timeout}

    def _droplet_action(self, droplet_id: str, perform) -> str:
        with self._droplet_gone_if_not_found(), self._call() as call:
            answer = perform(call.make(digitalocean.Droplet, id=droplet_id))
        with _reading():
            return str(answer["action"]["id"])

    def _ensure_ssh_key(self, spec: SshKeySpec) -> int:
        try:
            return self._load_ssh_key(spec)
        except errors.NotFoundError:
            pass
        try:
            with self._call() as call:
                key = call.make(digitalocean.SSHKey, name=spec.name, public_key=spec.public_key)
                key.create()
        except errors.RejectedError:
            # Another worker, creating a droplet with the same key at the same moment, added it first.
            return self._load_ssh_key(spec)
        with _reading():
            return int(key.id)

    def _load_ssh_key(self, spec: SshKeySpec) -> int:
        with self._call() as call:
            key = call.make(digitalocean.SSHKey, fingerprint=spec.fingerprint)
            key.load()
        with _reading():
            return int(key.id)

    def _get_all(self, path: str, key: str, params: dict | None = None) -> list[dict]:
        """Every page of a listing, as one list."""
        return [item for page in self._pages(path, key, params) for item in page]

    def _pages(self, path: str, key: str, params: dict | None = None) -> Iterator[list[dict]]:
        """A listing page by page (the library's own paging holds them all, and stops quietly when a later
        page fails). After the last page, the count is checked against `meta.total`: a short listing must
        never be read as "these droplets are gone"."""
        seen, total, page = 0, None, 1
        while total is None or seen < total:
            with self._call() as call:
                data = call.make(digitalocean.Manager).get_data(
                    path, params={**(params or {}), "page": page, "per_page": PAGE_SIZE}
                )
            with _reading():
                items = data.get(key, [])
                total = data.get("meta", {}).get("total", len(items)) if total is None else total
                if not all(isinstance(item, dict) for item in items):
                    raise TypeError(f"{key} holds something other than objects")
            if not items:
                break
            seen += len(items)
            yield items
            page += 1
        if seen < total:
            raise errors.TransientError(
                f"DigitalOcean returned {seen} of {total} {key}; the listing was cut short."
            )

    @contextlib.contextmanager
    def _call(self):
        """Runs python-digitalocean calls; whatever they raise leaves as one of `backend.errors`, told from
        the HTTP answer they received, or from the connection when none came."""
        exchange = _Exchange(self._options(), self._budget, self.account_key)
        try:
            yield exchange
        except TokenError:
            raise errors.UnauthorizedError("The service settings have no DigitalOcean token.") from None
        except requests.Timeout as error:
            raise errors.TransientError(
                f"DigitalOcean did not answer within {self._timeout:g} s.",
                may_have_landed=_may_have_landed(exchange, error),
            ) from None
        except requests.RequestException as error:
            raise errors.TransientError(
                "DigitalOcean could not be reached.", may_have_landed=_may_have_landed(exchange, error)
            ) from None
        except Exception:
            # The library failed on an answer (an error status, a body it could not read): that answer says
            # what went wrong. With no answer at all, the failure is not DigitalOcean's: let it surface.
            if exchange.response is None:
                raise
            error = self._error_from(exchange.response)
            if isinstance(error, errors.RateLimitedError) and self._budget is not None:
                self._budget.pause(self.account_key, error.retry_after)
            raise error from None

    def _error_from(self, response: requests.Response) -> errors.BackendError:
        status = response.status_code
        body = _json_object(response)
        error_id, message = str(body.get("id") or ""), str(body.get("message") or "").strip()
        if status == 429 or error_id == "too_many_requests":
            return errors.RateLimitedError(
                "DigitalOcean's API rate limit for this account is exhausted.",
                retry_after=self._retry_after(response),
            )
        if status in (401, 403) or error_id in ("unauthorized", "forbidden"):
            return errors.UnauthorizedError(f"DigitalOcean refused the token: {message or status}")
        if status == 404 or error_id == "not_found":
            return errors.NotFoundError(f"DigitalOcean found no such object: {message or status}")
        if status in RETRYABLE_STATUSES or status >= 500:
            if not body:
                return errors.TransientError(f"DigitalOcean answered {status} with a page that is not JSON.")
            return errors.TransientError(
                f"DigitalOcean had an internal error ({status}): {message or error_id}"
            )
        if 200 <= status < 300:
            return errors.TransientError("DigitalOcean answered with a body that could not be read.")
        return errors.RejectedError(f"DigitalOcean rejected the request: {message or error_id or status}")

    def _retry_after(self, response: requests.Response) -> float:
        """Seconds until DigitalOcean takes requests again: its Retry-After, else its ratelimit-reset, else
        the configured wait (each only when it is believable)."""
        wait = _seconds_from_retry_after(response.headers.get("retry-after"))
        if wait is None:
            reset = response.headers.get("ratelimit-reset", "")
            wait = float(reset) - time.time() if reset.isdecimal() else None
        if wait is None or not 0 < wait <= LONGEST_RATE_LIMIT_WAIT:
            return self._rate_limit_retry
        return max(wait, 1.0)

    @contextlib.contextmanager
    def _droplet_gone_if_not_found(self, *, gone: errors.BackendError | None = None):
        """A 404 on a droplet's path means it is gone (or `gone`) only if the account answers on the same
        endpoint: a wrong API URL 404s everywhere, and must never be read as "the droplet was deleted"."""
        try:
            yield
        except errors.NotFoundError:
            try:
                self.check_account()
            except errors.NotFoundError:
                raise errors.RejectedError(
                    "No DigitalOcean API answers at the service settings' endpoint (its account is not found "
                    "there either); check the settings' API URL."
                ) from None
            raise (gone or errors.NotFoundError(DROPLET_GONE)) from None


@contextlib.contextmanager
def _reading():
    """Reads a successful answer: one without what it must hold (a proxy's page, an API change) is an answer
    that could not be read, which may be right next time."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError) as error:
        logger.warning("Unreadable answer from DigitalOcean", exc_info=error)
        raise errors.TransientError("DigitalOcean answered with a body that could not be read.") from None


def _json_object(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds_from_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdecimal():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _may_have_landed(exchange: _Exchange, error: requests.RequestException) -> bool:
    """Whether a write that got no answer may still have been carried out: only a connection that never
    opened proves it was not."""
    if exchange.method == "GET":
        return False
    cause = error.args[0] if error.args else None
    never_connected = isinstance(error, requests.ConnectTimeout) or isinstance(
        getattr(cause, "reason", None), urllib3.exceptions.NewConnectionError
    )
    return not never_connected


def _droplet(data: dict) -> BackendDroplet:
    networks = data.get("networks") or {}
    v4 = networks.get("v4") or []
    image = data.get("image") or {}
    region = data.get("region") or {}
    return BackendDroplet(
        id=str(data["id"]),
        name=data["name"],
        status=data["status"],
        cores=int(data.get("vcpus") or 0),
        ram=int(data.get("memory") or 0),
        disk=int(data.get("disk") or 0) * MIB_PER_GIB,
        size_slug=data.get("size_slug") or "",
        image_name=f"{image.get('distribution', '')} {image.get('name', '')}".strip(),
        region_slug=region.get("slug", ""),
        region_name=region.get("name", ""),
        external_ips=[n["ip_address"] for n in v4 if n.get("type") == "public"],
        internal_ips=[n["ip_address"] for n in v4 if n.get("type") == "private"],
        tags=tuple(data.get("tags") or ()),
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
