"""The holder's output buffer against a plain model: every byte read is kept, in order,
at its offset, until discarded, however reads, discards, moves and growth interleave."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coven.pty.holder_buffer import INITIAL, OutputBuffer

# A read of ``n`` bytes, or a discard of ``f`` (a fraction) of what is kept, or a shrink.
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.sampled_from([1, 4096, 65536]) | st.integers(1, 65536)),
        st.tuples(st.just("discard"), st.floats(0, 1)),
        st.tuples(st.just("shrink"), st.just(0)),
    ),
    max_size=60,
)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        yield r, w
    finally:
        os.close(r)
        os.close(w)


def _feed(w: int, data: bytes) -> None:
    # A pipe holds 64 KiB: write what one read takes, at most.
    assert os.write(w, data) == len(data)


@settings(max_examples=200, deadline=None)
@given(ops=_OPS, base=st.integers(0, 2**40))
def test_the_buffer_keeps_exactly_what_was_read_and_not_discarded(
    ops: list[tuple[str, float]], base: int
) -> None:
    r, w = os.pipe()
    os.set_blocking(r, False)
    buf = OutputBuffer(base)
    model = b""  # what the buffer must hold, from model_base on
    model_base = base
    counter = 0
    try:
        for op, arg in ops:
            if op == "read":
                size = int(arg)
                data = bytes((counter + i) % 251 for i in range(size))
                counter += size
                _feed(w, data)
                got = 0
                while got < size:
                    got += buf.read_from(r, 65536)
                model += data
            elif op == "discard":
                cut = model_base + int(len(model) * arg)
                buf.discard(cut)
                model = model[cut - model_base :]
                model_base = cut
            else:
                buf.shrink_if_idle()
            assert (buf.base, buf.end, len(buf)) == (
                model_base,
                model_base + len(model),
                len(model),
            )
            with buf.view(buf.base, len(buf)) as view:
                assert bytes(view) == model
            if model:
                mid = model_base + len(model) // 2
                with buf.view(mid, 1) as view:
                    assert bytes(view) == model[mid - model_base : mid - model_base + 1]
    finally:
        buf.close()
        os.close(r)
        os.close(w)


def test_reads_land_in_place_and_the_block_is_reused_and_given_back(
    pipe: tuple[int, int],
) -> None:
    r, w = pipe
    buf = OutputBuffer()
    # A flood acknowledged as it goes: the live part stays small, so the block is reused
    # (the live part moved to its front) and never grows.
    kept = b""
    for n in range(1000):
        chunk = n.to_bytes(4, "big") * 1024
        _feed(w, chunk)
        assert buf.read_from(r, 65536) == 4096
        with buf.view(buf.base, len(buf)) as view:
            assert bytes(view) == kept + chunk
        buf.discard(buf.end - 1024)
        kept = chunk[-1024:]
    assert buf.capacity == INITIAL
    chunk = b"x" * 4096
    # A daemon that does not acknowledge: the block grows (doubling) to hold it all.
    for _ in range(200):
        _feed(w, chunk)
        buf.read_from(r, 65536)
    assert len(buf) == 200 * 4096 + 1024
    assert INITIAL < buf.capacity <= 4 * len(buf)
    buf.shrink_if_idle()  # something is kept: nothing given back
    assert buf.capacity > INITIAL
    buf.discard(buf.end)
    buf.shrink_if_idle()
    assert buf.capacity == INITIAL and len(buf) == 0
    buf.close()


def test_nothing_to_read_and_views_outside_are_refused(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    buf = OutputBuffer(7)
    with pytest.raises(BlockingIOError):  # as os.read says it
        buf.read_from(r, 100)
    with pytest.raises(ValueError):
        buf.view(6, 1)  # before base
    with pytest.raises(ValueError):
        buf.view(7, 1)  # past the end
    assert buf.end == 7
    buf.close()


def test_a_closed_writer_reads_as_end_of_file() -> None:
    r, w = os.pipe()
    os.write(w, b"last")
    os.close(w)
    buf = OutputBuffer()
    try:
        assert buf.read_from(r, 100) == 4
        assert buf.read_from(r, 100) == 0
        with buf.view(0, 4) as view:
            assert bytes(view) == b"last"
    finally:
        buf.close()
        os.close(r)
