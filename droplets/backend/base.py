"""Plain data the backend returns: the rest of the code never sees a python-digitalocean object."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class BackendRegion:
    slug: str
    name: str
    available: bool


@dataclass(frozen=True)
class BackendSize:
    slug: str
    cores: int
    ram: int  # MiB
    disk: int  # MiB
    transfer: int  # MiB
    price: float  # monthly, USD
    regions: tuple[str, ...]


@dataclass(frozen=True)
class BackendImage:
    id: str
    name: str
    distribution: str
    type: str
    is_official: bool
    created_at: datetime | None
    min_disk_size: int  # MiB
    regions: tuple[str, ...]


@dataclass(frozen=True)
class BackendDroplet:
    id: str
    name: str
    status: str  # new, active, off, archive
    cores: int
    ram: int  # MiB
    disk: int  # MiB
    size_slug: str
    image_name: str
    region_slug: str
    region_name: str
    external_ips: list[str] = field(default_factory=list)
    internal_ips: list[str] = field(default_factory=list)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendAction:
    id: str
    type: str
    status: str  # in-progress, completed, errored
    started_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.status == "in-progress"

    @property
    def errored(self) -> bool:
        return self.status == "errored"


@dataclass(frozen=True)
class CreatedDroplet:
    droplet_id: str
    action_id: str


@dataclass(frozen=True)
class SshKeySpec:
    name: str
    public_key: str
    fingerprint: str  # MD5, colon hex: how DigitalOcean finds a key already on the account
