"""kombu's filesystem transport (the embedded default's broker), with messages that are never read half
written.

kombu writes a message file in place, under its final name, and takes an advisory lock the reader never
checks: a worker polling the folder can take a file that is still empty, fail to decode it and stop with
"Unrecoverable error: JSONDecodeError" (kombu issue #1551), the message lost with it. Here a message is
written under a name no reader takes and renamed into place once whole; a rename within one folder is
atomic, so a reader sees the whole message or none of it. A writer killed mid-write leaves only its
`.part` file behind, which no reader takes.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The name kombu's readers look for: `<ms>_<uuid>.<queue>.msg`, the oldest first.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Readers take only names whose part after the first dot is `<queue>.msg`; this one's is longer.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
