"""The read path of the droplet and catalog lists: their serializers compiled into row functions.

Each list renders its page from `.values()` rows with the functions waldur_do/api/rows.py compiles from
the serializer, so the serializer stays the one description of every field. Declared here is only what
no column holds: the serializer's method fields and constants, and the model property `access_url`.
tests/droplets/test_read_path.py proves both paths answer the same for every field, role and `field=`.
"""

from operator import itemgetter

from waldur_do.api import rows

from .serializers import (
    MARKETPLACE_FIELDS,
    DigitalOceanDropletSerializer,
    DigitalOceanImageSerializer,
    DigitalOceanRegionSerializer,
    DigitalOceanSizeSerializer,
)


def _error_traceback(request):
    """Staff only, as DigitalOceanDropletSerializer.get_error_traceback."""
    if request is not None and request.user.is_staff:
        return itemgetter("error_traceback")
    return lambda row: ""


DROPLETS = rows.RowRenderer(
    DigitalOceanDropletSerializer,
    computed={
        "service_name": rows.constant("DigitalOcean"),
        "error_traceback": rows.per_request(["error_traceback"], _error_traceback),
        "resource_type": rows.constant("DigitalOcean.Droplet"),
        # Droplet.access_url, a property: the first public address.
        "access_url": rows.from_columns(["external_ips"], lambda ips: str(ips[0]) if ips else None),
        **{name: rows.constant(None) for name in MARKETPLACE_FIELDS},
        "is_usage_based": rows.constant(False),
        "is_limit_based": rows.constant(False),
    },
)
REGIONS = rows.RowRenderer(DigitalOceanRegionSerializer)
IMAGES = rows.RowRenderer(DigitalOceanImageSerializer)
SIZES = rows.RowRenderer(DigitalOceanSizeSerializer)
