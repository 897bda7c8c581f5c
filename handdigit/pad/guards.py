"""Guards around three upstream parsers of kernel websocket frames that loop over a count the client
sends, so that one malformed frame costs at most its own connection instead of the whole server.

jupyter_server 2.21.1 and Voila 0.5.13 (the newest releases, December 2026) read the number of
parts of a binary websocket frame from the frame's first bytes and then build a list of that many
offsets before checking anything:
- `deserialize_msg_from_ws_v1` (jupyter_server, the `v1.kernel.websocket.jupyter.org` protocol):
  a 16-byte frame starting with the little-endian 2**62 makes the server loop and allocate until
  the machine runs out of memory;
- `deserialize_binary_message` (jupyter_server, the legacy protocol): a count of 2**31 - 1 builds a
  two-gigabyte `struct` format string;
- `read_header_from_binary_message` (Voila): reads the kernel's replies to a client that connected
  without a subprotocol (which get the legacy framing) as if they were v1, so such a client that
  then draws makes the server loop in the same way.

`install()` replaces the three names where they are looked up with versions that check the count
against the frame's length first (a frame of n bytes cannot hold more than n / 8 offsets) and that
every offset lies inside the frame; a bad frame raises ValueError, which Tornado answers by closing
that one websocket. The upstream report is in docs/upstream-websocket-frames.md.
"""

import json
import struct

V1_OFFSET_BYTES = 8
LEGACY_OFFSET_BYTES = 4


class MalformedFrame(ValueError):
    """A websocket frame whose declared parts do not fit in it."""


def v1_offsets(frame):
    """The offsets of a v1 frame, checked: a count that fits, increasing, inside the frame."""
    if len(frame) < V1_OFFSET_BYTES:
        raise MalformedFrame(f"a v1 frame of {len(frame)} bytes has no offset count")
    count = int.from_bytes(frame[:V1_OFFSET_BYTES], "little")
    if count < 2 or V1_OFFSET_BYTES * (count + 1) > len(frame):
        raise MalformedFrame(f"a v1 frame of {len(frame)} bytes cannot hold {count} offsets")
    offsets = [
        int.from_bytes(frame[V1_OFFSET_BYTES * (i + 1) : V1_OFFSET_BYTES * (i + 2)], "little")
        for i in range(count)
    ]
    if offsets != sorted(offsets) or offsets[-1] > len(frame):
        raise MalformedFrame("a v1 frame's offsets are out of order or beyond its end")
    return offsets


def deserialize_msg_from_ws_v1(frame):
    """jupyter_server's function of that name, with the offsets checked first."""
    offsets = v1_offsets(frame)
    channel = frame[offsets[0] : offsets[1]].decode("utf-8")
    return channel, [frame[offsets[i] : offsets[i + 1]] for i in range(1, len(offsets) - 1)]


def read_header_from_binary_message(frame):
    """Voila's function of that name: the header of a v1 frame, or None when the frame is not one."""
    try:
        offsets = v1_offsets(frame)
        return json.loads(frame[offsets[1] : offsets[2]].decode("utf-8"))
    except (MalformedFrame, IndexError, ValueError):
        return None


def checked_legacy_frame(frame):
    """A legacy binary frame whose part count fits in it (else MalformedFrame)."""
    if len(frame) < LEGACY_OFFSET_BYTES:
        raise MalformedFrame(f"a binary frame of {len(frame)} bytes has no part count")
    (count,) = struct.unpack("!i", frame[:LEGACY_OFFSET_BYTES])
    if count < 1 or LEGACY_OFFSET_BYTES * (count + 1) > len(frame):
        raise MalformedFrame(f"a binary frame of {len(frame)} bytes cannot hold {count} parts")
    return frame


def install():
    """Put the checked parsers where jupyter_server and Voila look them up (idempotent)."""
    from jupyter_server.services.kernels.connection import channels
    from voila.tornado import kernel_websocket_handler

    channels.deserialize_msg_from_ws_v1 = deserialize_msg_from_ws_v1
    if not getattr(channels.deserialize_binary_message, "handdigit_checked", False):
        upstream = channels.deserialize_binary_message

        def deserialize_binary_message(frame):
            return upstream(checked_legacy_frame(frame))

        deserialize_binary_message.handdigit_checked = True
        channels.deserialize_binary_message = deserialize_binary_message
    kernel_websocket_handler.read_header_from_binary_message = read_header_from_binary_message
