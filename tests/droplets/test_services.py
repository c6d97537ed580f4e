"""Services stand on their own: atomic outside a request, writing only what they change, and letting a
conditional update or a unique constraint decide races rather than a read-then-write."""

import pytest

from droplets import services
from droplets.catalog import service_settings_mark_erred, service_settings_sync
from droplets.models import Droplet
from waldur_do.errors import InvalidInput, StateConflict
from waldur_do.structure.models import ServiceSettings, SshPublicKey
from waldur_do.structure.services import service_settings_update, ssh_key_create

from ..fixtures.backend import make_emulated_settings
from ..fixtures.droplets import make_droplet
from ..fixtures.factories import make_project, make_service_settings, make_user
from ..fixtures.ssh_keys import generate_public_key


@pytest.mark.django_db(transaction=True)
def test_a_rename_refused_after_the_description_was_written_leaves_both_as_they_were(monkeypatch):
    droplet = make_droplet(project=make_project(), name="web-1", description="before")

    def lost_the_race(*, droplet, operation, params):
        raise StateConflict("Valid states for operation: OK.")

    monkeypatch.setattr(services, "_droplet_transition", lost_the_race)
    with pytest.raises(StateConflict):
        services.droplet_update(droplet=droplet, name="web-2", description="after")

    stored = Droplet.objects.get(pk=droplet.pk)
    assert (stored.name, stored.description) == ("web-1", "before")


@pytest.mark.django_db
def test_a_settings_change_never_writes_back_a_state_a_worker_moved_meanwhile():
    settings_row = make_service_settings(state=ServiceSettings.State.CREATING)
    stale = ServiceSettings.objects.get(pk=settings_row.pk)
    ServiceSettings.objects.filter(pk=settings_row.pk).update(
        state=ServiceSettings.State.ERRED, error_message="x"
    )

    service_settings_update(service_settings=stale, name="renamed")

    stored = ServiceSettings.objects.get(pk=settings_row.pk)
    assert (stored.name, stored.state, stored.error_message) == ("renamed", ServiceSettings.State.ERRED, "x")


@pytest.mark.django_db
def test_a_new_token_is_checked_again():
    settings_row = make_service_settings(state=ServiceSettings.State.OK)
    service_settings_update(service_settings=settings_row, token="new-token")
    stored = ServiceSettings.objects.get(pk=settings_row.pk)
    assert (stored.token, stored.state) == ("new-token", ServiceSettings.State.CREATING)


@pytest.mark.django_db
def test_a_check_of_the_old_token_ending_after_a_token_change_decides_nothing(emulator_server):
    settings_row = make_emulated_settings(emulator_server, state=ServiceSettings.State.CREATING)
    checking_old_token = ServiceSettings.objects.get(pk=settings_row.pk)
    ServiceSettings.objects.filter(pk=settings_row.pk).update(token="changed-meanwhile")

    service_settings_sync(service_settings=checking_old_token)
    service_settings_mark_erred(service_settings=checking_old_token, message="old token refused")

    stored = ServiceSettings.objects.get(pk=settings_row.pk)
    assert (stored.state, stored.error_message) == (ServiceSettings.State.CREATING, "")


@pytest.mark.django_db
def test_the_same_key_submitted_twice_is_a_400_not_a_500():
    user = make_user()
    public_key = generate_public_key()
    ssh_key_create(user=user, name="laptop", public_key=public_key)
    with pytest.raises(InvalidInput, match=r"You already have this key\."):
        ssh_key_create(user=user, name="laptop again", public_key=public_key)
    assert SshPublicKey.objects.filter(user=user).count() == 1
