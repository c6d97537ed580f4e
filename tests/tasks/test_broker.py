"""The embedded default's broker (tasks/broker.py): a worker never reads a message that is still being
written. kombu's own filesystem transport lets a reader take a message file before its writer has filled
it; the worker then stops with a JSONDecodeError and the message is lost."""

import json
import os
import threading

import pytest
from django.conf import settings
from kombu import Connection
from kombu.transport.virtual import Empty

from tasks.broker import Transport
from tasks.celery import app

QUEUE = "race"


@pytest.fixture
def folder(tmp_path):
    return {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "store_processed": False}


def _channel(folder):
    connection = Connection("filesystem://localhost/", transport=Transport, transport_options=folder)
    return connection, connection.default_channel


def test_a_reader_racing_a_writer_gets_every_message_whole(folder):
    messages, body = 300, "x" * 200_000  # big enough that a write takes a while: the window kombu leaves open
    writer_connection, writer = _channel(folder)
    reader_connection, reader = _channel(folder)
    received, undecodable = [], []

    def write():
        for number in range(messages):
            writer._put(QUEUE, {"body": body, "number": number})

    thread = threading.Thread(target=write)
    thread.start()
    while len(received) + len(undecodable) < messages and (thread.is_alive() or _waiting(folder)):
        try:
            received.append(reader._get(QUEUE)["number"])
        except json.JSONDecodeError as error:
            undecodable.append(error)
        except Empty:
            pass
    thread.join()
    writer_connection.close()
    reader_connection.close()

    assert undecodable == []
    assert sorted(received) == list(range(messages))


def test_a_message_being_written_is_not_taken_and_a_whole_one_leaves_nothing_behind(folder):
    connection, channel = _channel(folder)
    half_written = os.path.join(folder["data_folder_in"], f".1_abc.{QUEUE}.msg.part")
    with open(half_written, "w") as file:
        file.write('{"bo')
    with pytest.raises(Empty):
        channel._get(QUEUE)

    channel._put(QUEUE, {"body": "whole"})
    written = set(os.listdir(folder["data_folder_in"])) - {os.path.basename(half_written)}
    assert len(written) == 1 and written.pop().endswith(f".{QUEUE}.msg")
    assert channel._get(QUEUE) == {"body": "whole"}
    connection.close()


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("filesystem"), reason="the embedded broker")
def test_the_embedded_default_uses_it():
    with app.connection_for_write() as connection:
        assert type(connection.transport) is Transport


def _waiting(folder) -> bool:
    return any(name.endswith(f".{QUEUE}.msg") for name in os.listdir(folder["data_folder_in"]))
