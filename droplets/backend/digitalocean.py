"""The one module that talks to DigitalOcean, through python-digitalocean.

Every library object gets the token, the endpoint and the timeout of *its* service settings explicitly (the
library would otherwise read them from the process environment), so one worker serves many accounts and the
emulator side by side. Every library exception leaves this module as one of `backend.errors`.
"""

import contextlib
import logging
from datetime import datetime

import digitalocean
import requests
from digitalocean.baseapi import DataReadError, JSONReadError, TokenError
from digitalocean.baseapi import NotFoundError as LibraryNotFoundError

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

logger = logging.getLogger(__name__)

MIB_PER_GIB = 1024
MIB_PER_TIB = 1024 * 1024

# python-digitalocean drops the status code of an error answer and keeps only DigitalOcean's message, so
# the kind of error is told from the message DigitalOcean sends for it.
UNAUTHORIZED_MESSAGES = ("Unable to authenticate you", "You are not authorized to perform this operation")
RATE_LIMITED_MESSAGE = "API Rate limit exceeded"
SERVER_ERROR_HINTS = ("server error", "server-side error", "internal error", "service unavailable")


class DigitalOceanBackend:
    def __init__(self, *, token: str, api_url: str, timeout: float, rate_limit_retry: float = 60.0):
        self._token = token
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._timeout = timeout
        self._rate_limit_retry = rate_limit_retry

    # Account and catalog

    def check_account(self) -> None:
        with self._translated_errors():
            digitalocean.Account(**self._options()).load()

    # Each answer is read inside `_translated_errors` too: an item without the keys it must have is an
    # unreadable answer (TransientError), never a KeyError escaping into a worker.

    def list_regions(self) -> list[BackendRegion]:
        regions = self._get_all("regions/", "regions")
        with self._translated_errors():
            return [
                BackendRegion(slug=r["slug"], name=r["name"], available=bool(r.get("available", True)))
                for r in regions
            ]

    def list_sizes(self) -> list[BackendSize]:
        sizes = self._get_all("sizes/", "sizes")
        with self._translated_errors():
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
        with self._translated_errors():
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
        with self._translated_errors():
            ssh_keys = [self._ensure_ssh_key(ssh_key)] if ssh_key else []
            droplet = digitalocean.Droplet(
                **self._options(),
                name=name,
                region=region,
                size_slug=size,
                image=int(image) if image.isdigit() else image,
                ssh_keys=ssh_keys,
                user_data=user_data or None,
                tags=[tag],
            )
            droplet.create()
            return CreatedDroplet(droplet_id=str(droplet.id), action_id=str(droplet.action_ids[0]))

    def find_droplet_by_tag(self, tag: str) -> BackendDroplet | None:
        droplets = self._get_all("droplets/", "droplets", params={"tag_name": tag})
        with self._translated_errors():
            return _droplet(droplets[0]) if droplets else None

    def get_droplet(self, droplet_id: str) -> BackendDroplet:
        with self._translated_errors():
            return _droplet(self._manager().get_data(f"droplets/{droplet_id}")["droplet"])

    def list_droplets(self) -> list[BackendDroplet]:
        droplets = self._get_all("droplets/", "droplets")
        with self._translated_errors():
            return [_droplet(d) for d in droplets]

    def destroy_droplet(self, droplet_id: str) -> None:
        with self._translated_errors():
            digitalocean.Droplet(**self._options(), id=droplet_id).destroy()

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
        with self._translated_errors():
            action = digitalocean.Action(**self._options(), id=action_id, droplet_id=droplet_id)
            action.load()
            return BackendAction(id=str(action.id), type=action.type, status=action.status)

    def find_pending_action(self, droplet_id: str, action_type: str) -> BackendAction | None:
        """The droplet's in-progress action of this type, if any (among its latest, newest first)."""
        with self._translated_errors():
            answer = self._manager().get_data(f"droplets/{droplet_id}/actions/", params={"page": 1})
            for action in answer["actions"]:
                if action["type"] == action_type and action["status"] == "in-progress":
                    return BackendAction(id=str(action["id"]), type=action["type"], status=action["status"])
        return None

    # Plumbing

    def _options(self) -> dict:
        timeout = self._timeout
        return {"token": self._token, "end_point": self._api_url, "get_timeout": lambda: timeout}

    def _manager(self) -> digitalocean.Manager:
        return digitalocean.Manager(**self._options())

    def _droplet_action(self, droplet_id: str, perform) -> str:
        with self._translated_errors():
            answer = perform(digitalocean.Droplet(**self._options(), id=droplet_id))
            return str(answer["action"]["id"])

    def _ensure_ssh_key(self, spec: SshKeySpec) -> int:
        key = digitalocean.SSHKey(**self._options(), fingerprint=spec.fingerprint)
        try:
            key.load()
        except LibraryNotFoundError:
            key = digitalocean.SSHKey(**self._options(), name=spec.name, public_key=spec.public_key)
            key.create()
        return int(key.id)

    def _get_all(self, path: str, key: str, params: dict | None = None) -> list[dict]:
        """Every page of a listing. The library stops quietly when a later page fails, so the count is
        checked against `meta.total`: a short list must never be read as "these droplets are gone"."""
        with self._translated_errors():
            data = self._manager().get_data(path, params=dict(params or {}))
            items = data.get(key, [])
            total = data.get("meta", {}).get("total", len(items))
        if len(items) < total:
            raise errors.TransientError(
                f"DigitalOcean returned {len(items)} of {total} {key}; the listing was cut short."
            )
        return items

    @contextlib.contextmanager
    def _translated_errors(self):
        try:
            yield
        except LibraryNotFoundError:
            raise errors.NotFoundError("The droplet no longer exists on DigitalOcean.") from None
        except DataReadError as error:
            raise self._classify(str(error)) from None
        except TokenError:
            raise errors.UnauthorizedError("The service settings have no DigitalOcean token.") from None
        except requests.Timeout:
            raise errors.TransientError(f"DigitalOcean did not answer within {self._timeout:g} s.") from None
        except requests.RequestException:
            raise errors.TransientError("DigitalOcean could not be reached.") from None
        except JSONReadError:
            raise errors.TransientError("DigitalOcean answered with a page that is not JSON.") from None
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as error:
            # A body without the fields the library expects (an error body without `message`, say).
            logger.warning("Unreadable answer from DigitalOcean: %s", type(error).__name__)
            raise errors.TransientError("DigitalOcean answered with a body that could not be read.") from None

    def _classify(self, message: str) -> errors.BackendError:
        if any(hint in message for hint in UNAUTHORIZED_MESSAGES):
            return errors.UnauthorizedError(f"DigitalOcean refused the token: {message}")
        if RATE_LIMITED_MESSAGE in message:
            return errors.RateLimitedError(
                "DigitalOcean's API rate limit for this account is exhausted.",
                retry_after=self._rate_limit_retry,
            )
        if any(hint in message.lower() for hint in SERVER_ERROR_HINTS):
            return errors.TransientError(f"DigitalOcean had an internal error: {message}")
        return errors.RejectedError(f"DigitalOcean rejected the request: {message}")


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
