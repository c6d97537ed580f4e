"""Services stand on their own: called outside a request's transaction, a refused change writes nothing."""

import pytest

from droplets import services
from droplets.models import Droplet
from waldur_do.errors import StateConflict

from ..fixtures.droplets import make_droplet
from ..fixtures.factories import make_project


@pytest.mark.django_db(transaction=True)
def test_a_rename_refused_after_the_description_was_written_leaves_both_as_they_were(monkeypatch):
    droplet = make_droplet(project=make_project(), name="web-1", description="before")

    def lost_the_race(*, droplet, operation):
        raise StateConflict("Valid states for operation: OK.")

    monkeypatch.setattr(services, "_droplet_transition", lost_the_race)
    with pytest.raises(StateConflict):
        services.droplet_update(droplet=droplet, name="web-2", description="after")

    stored = Droplet.objects.get(pk=droplet.pk)
    assert (stored.name, stored.description) == ("web-1", "before")
