"""The holder wire protocol and the daemon-side decoder, over a socketpair (no holder process)."""

from __future__ import annotations

import random
import select
import socket
from collections.abc import Iterator

import pytest

from coven.errors import HolderUnavailable, InvalidRequest
from coven.pty import ExitStatus
from coven.pty import holder_protocol as wire
from coven.pty.holder_client import HolderHandle


def hello(base: int = 0, end: int = 0, received: int = 0, written: int = 0) -> wire.Hello:
    return wire.Hello(wire.VERSION, 100, 200, 300, 400, base, end, received, written, "sess")


def output(offset: int, data: bytes) -> bytes:
    return wire.frame(wire.OUTPUT, wire.OFFSET.pack(offset) + data)


@pytest.fixture
def pair() -> Iterator[tuple[HolderHandle, socket.socket]]:
    """A handle on one end of a socketpair and the "holder" end to write frames into."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setblocking(False)
    handle = HolderHandle(ours, hello(), "/nowhere.sock")
    handle.resume(0)
    try:
        yield handle, theirs
    finally:
        handle.close()
        theirs.close()


def readable(handle: HolderHandle) -> bool:
    return bool(select.select([handle.master_fd], [], [], 0)[0])


def test_frames_survive_any_split_of_the_stream() -> None:
    frames = [
        (wire.OUTPUT, wire.OFFSET.pack(0) + b"hello"),
        (wire.INPUT_DONE, wire.OFFSET.pack(7)),
        (wire.ERROR, b"x"),
        (wire.OUTPUT, wire.OFFSET.pack(5) + bytes(range(256)) * 40),
    ]
    stream = b"".join(wire.frame(kind, payload) for kind, payload in frames)
    rng = random.Random(13)
    for _ in range(50):
        decoder = wire.FrameDecoder()
        got: list[tuple[int, bytes]] = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 700)
            got += decoder.feed(stream[pos : pos + step])
            pos += step
        assert got == frames
        assert decoder.pending == 0


def test_an_oversized_frame_is_a_protocol_error() -> None:
    with pytest.raises(wire.ProtocolError):
        wire.FrameDecoder().feed(wire.HEADER.pack(wire.OUTPUT, wire.MAX_PAYLOAD + 1))


def test_the_launch_spec_round_trips_every_string() -> None:
    argv = ["codex", "--flag=a b", "", "ünïcode", "\udcff-not-utf8"]
    env = {"PATH": "/bin", "EMPTY": "", "EQ": "a=b=c", "Ü": "\udc80"}
    kind, payload = wire.FrameDecoder().feed(wire.encode_spec(argv, env, "/tmp/x y", 40, 120))[0]
    assert kind == wire.SPEC
    assert wire.decode_spec(payload) == wire.Spec(argv, env, "/tmp/x y", 40, 120)
    with pytest.raises(wire.ProtocolError):
        wire.decode_spec(payload[:-1])
    with pytest.raises(wire.ProtocolError):
        wire.decode_spec(payload + b"!")


def test_hello_and_exit_round_trip() -> None:
    sent = hello(base=5, end=9, received=3, written=2)
    kind, payload = wire.FrameDecoder().feed(wire.encode_hello(sent))[0]
    assert kind == wire.HELLO and wire.decode_hello(payload) == sent
    with pytest.raises(wire.ProtocolError):
        wire.decode_hello(b"XXXX" + payload[4:])
    for code, signo in ((0, None), (255, None), (None, 9)):
        _kind, body = wire.FrameDecoder().feed(wire.encode_exit(77, code, signo))[0]
        assert wire.decode_exit(body) == (77, code, signo)


def test_reads_stop_at_frame_boundaries_and_take_nothing_they_do_not_return(
    pair: tuple[HolderHandle, socket.socket],
) -> None:
    handle, holder = pair
    holder.sendall(output(0, b"a" * 10) + output(10, b"b" * 10) + wire.encode_exit(20, 0, None))
    assert handle.read(4) == b"aaaa"
    assert handle.read(100) == b"a" * 6  # the rest of the first frame only
    assert readable(handle)  # the second frame is still in the socket
    assert handle.read(100) == b"b" * 10
    assert readable(handle)  # so is the exit
    assert handle.poll_exit() is None
    assert handle.read(100) == b""
    assert handle.poll_exit() == ExitStatus(code=0, signal=None)
    assert handle.offset == handle.final_offset == 20
    assert select.select([handle.pidfd], [], [], 0)[0], "pidfd signals the exit"
    assert handle.read(100) == b""


def test_a_frame_split_across_sends_comes_out_whole_and_in_order(
    pair: tuple[HolderHandle, socket.socket],
) -> None:
    handle, holder = pair
    frame = output(0, bytes(range(256)) * 100)
    got = b""
    for pos in range(0, len(frame), 997):
        holder.sendall(frame[pos : pos + 997])
        while (data := handle.read(1 << 20)) is not None:
            got += data
        assert not readable(handle)
    assert got == bytes(range(256)) * 100


def test_a_gap_or_overlap_in_offsets_loses_the_holder(
    pair: tuple[HolderHandle, socket.socket],
) -> None:
    handle, holder = pair
    holder.sendall(output(0, b"abc") + output(4, b"e"))
    assert handle.read() == b"abc"
    assert handle.read() == b""
    assert handle.lost is not None and "contiguous" in handle.lost
    with pytest.raises(HolderUnavailable):
        handle.poll_exit()
    with pytest.raises(OSError):
        handle.write(b"x")


def test_an_error_frame_or_a_closed_socket_ends_the_stream(
    pair: tuple[HolderHandle, socket.socket],
) -> None:
    handle, holder = pair
    holder.sendall(output(0, b"abc"))
    holder.close()
    assert handle.read() == b"abc"
    assert handle.read() == b""
    assert handle.lost is not None
    assert select.select([handle.pidfd], [], [], 0)[0], "pidfd signals the loss"


def test_the_input_window_follows_what_the_holder_wrote(
    pair: tuple[HolderHandle, socket.socket],
) -> None:
    handle, holder = pair
    assert handle.write(b"x" * (wire.INPUT_WINDOW + 10)) == wire.INPUT_WINDOW
    assert handle.wants_flush  # a socketpair takes less than the window at once
    assert handle.write(b"y") == 0
    holder.sendall(wire.offset_frame(wire.INPUT_DONE, 1000))
    assert handle.read() is None  # a control frame only: no output
    assert handle.input_room == 1000
    assert handle.write(b"z" * 2000) == 1000
    # What the holder received: RESUME, then INPUT frames with exactly the accepted bytes.
    decoder = wire.FrameDecoder()
    frames: list[tuple[int, bytes]] = []
    holder.setblocking(False)
    while True:
        try:
            data = holder.recv(1 << 20)
        except BlockingIOError:
            if not handle.wants_flush:
                break
            handle.flush()  # what the socket could not take at once
            continue
        frames += decoder.feed(data)
    assert frames[0] == (wire.RESUME, wire.OFFSET.pack(0))
    sent = b"".join(payload for kind, payload in frames if kind == wire.INPUT)
    assert sent == b"x" * wire.INPUT_WINDOW + b"z" * 1000


def test_ack_beyond_what_was_read_and_release_before_exit_are_refused(
    pair: tuple[HolderHandle, socket.socket],
) -> None:
    handle, holder = pair
    holder.sendall(output(0, b"abc"))
    assert handle.read() == b"abc"
    handle.ack(3)
    with pytest.raises(InvalidRequest):
        handle.ack(4)
    with pytest.raises(InvalidRequest):
        handle.release()
