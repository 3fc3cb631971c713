"""Transport: how a request body gets from the client's socket into the app, and a spool's
bytes onto the disk. Nothing here knows about models, forms or permissions.

- `body_chunks()` yields a request body in chunks: under gunicorn straight from the client's
  socket into reusable `ReceiveBuffers` (each chunk's `BufferLease` says when its buffer may be
  filled again), elsewhere from the WSGI stream; every read under gunicorn has a `BodyBudget`
  (a read timeout and a minimum rate, 408 past them).
- `body_left_unread()` tells gunicorn to close a connection whose body was refused unread.
- `sync_file_range` is Linux's sync_file_range(2) through ctypes (os does not wrap it), which
  the upload spool (registry/uploads.py) uses to start its disk writes early.

The multipart form (registry/api/parsers.py) and the spool (registry/uploads.py) use these; the
speed each trick bought is measured by bench/transfer.py (figures in docs/performance.md).
"""

import contextlib
import ctypes
import queue
import socket
import struct
import sys
import threading
import time
import weakref

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError

CHUNK_BYTES = 1024 * 1024  # one read of a request body, and one receive buffer
SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range():
    """Linux's sync_file_range(2), which os does not wrap, or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


sync_file_range = _load_sync_file_range()


class BufferLease:
    """One reusable receive buffer, back in its pool once everyone holding it has let go."""

    def __init__(self, pool: "ReceiveBuffers", size: int):
        self.buffer = bytearray(size)
        # Weak: a strong one made a cycle (lease -> pool -> its free queue -> lease) that kept
        # each request's buffers until a full garbage collection, a MiB or more per upload part.
        self._pool = weakref.ref(pool)
        self._holders = 0
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            free = self._holders == 0
        pool = self._pool()
        if free and pool is not None:
            pool.give_back(self)


class ReceiveBuffers:
    """A request's few receive buffers of CHUNK_BYTES, filled again once their bytes are written
    and hashed.

    A fresh 1 MiB bytes object per chunk made the allocator hand memory back to the kernel and
    fault it in again (about 40,000 page faults per GiB; 10-20% of the upload rate in
    bench/transfer.py on a 2-core VM). Buffers are made as needed, at most `count`; past that,
    taking one waits until the spool's threads release one, so a slow disk slows the reading.
    """

    def __init__(self, size: int = CHUNK_BYTES, count: int = 8):
        self.size = size
        self._count = count
        self._made = 0
        self._free: queue.SimpleQueue[BufferLease] = queue.SimpleQueue()

    def take(self) -> BufferLease:
        """A buffer held once for the caller, who releases it when done with the bytes."""
        try:
            lease = self._free.get_nowait()
        except queue.Empty:
            if self._made < self._count:
                self._made += 1
                lease = BufferLease(self, self.size)
            else:
                lease = self._free.get()
        lease.hold()
        return lease

    def give_back(self, lease: BufferLease) -> None:
        self._free.put(lease)


class BodyTooSlow(APIException):
    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_detail = "The request body arrived too slowly; nothing was stored."
    default_code = "body_too_slow"


_TIMEVAL = struct.Struct("@ll")  # struct timeval, as SO_RCVTIMEO takes it


class BodyBudget:
    """How long the next read of a request body may wait, set as the socket's receive timeout.

    No read waits longer than MAISIE_BODY_READ_TIMEOUT, and none past the moment the body would
    have arrived slower on average than MAISIE_BODY_MIN_RATE, with one read timeout of grace
    (as Apache's mod_reqtimeout counts): a client that stalls or trickles gets 408 instead of
    holding a server thread for as long as it likes.

    The kernel's SO_RCVTIMEO rather than Python's socket timeout: the socket stays blocking, so
    a 1 MiB MSG_WAITALL receive is still one system call (a Python timeout makes the socket
    non-blocking, and every receive returns whatever has arrived); a receive cut short by the
    timeout returns what it has, and one that got nothing raises BlockingIOError. The socket's
    own timeout is put back at the end.
    """

    def __init__(self, sock):
        self.sock = sock
        self.received = 0
        self._start = time.monotonic()
        self._read_timeout = settings.MAISIE_BODY_READ_TIMEOUT
        self._min_rate = settings.MAISIE_BODY_MIN_RATE
        self._saved = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL.size)
        self._set = None

    def before_read(self) -> None:
        """Set the next read's timeout, or raise BodyTooSlow when the body is already too late."""
        left = self._start + self._read_timeout + self.received / self._min_rate - time.monotonic()
        if left <= 0:
            raise BodyTooSlow()
        wait = min(self._read_timeout, left)
        if wait != self._set:
            seconds = int(wait)
            self._setsockopt(_TIMEVAL.pack(seconds, max(int((wait - seconds) * 1e6), 1 if not seconds else 0)))
            self._set = wait

    def close(self) -> None:
        if self._set is not None:
            self._setsockopt(self._saved)

    def _setsockopt(self, value: bytes) -> None:
        with contextlib.suppress(OSError):  # the client is gone; the read that follows will say so
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)


def body_chunks(meta, stream, length: int):
    """The request body as (chunk, lease) pairs, chunks of up to CHUNK_BYTES.

    Under gunicorn the body is read straight from the client's socket: gunicorn's own reader
    copies every chunk through several BytesIO buffers, which capped uploads near 230 MB/s on
    loopback, about half of what the socket delivers. What gunicorn has already buffered is
    taken first, and its reader is told the body is consumed. Anything else (runserver, the
    test client, another server, or a gunicorn whose internals differ) reads the stream.

    From the socket, whole chunks are received into reusable `ReceiveBuffers`: such a chunk is
    the leased buffer itself, valid until the caller asks for the next one; a consumer that
    keeps its bytes longer holds the lease. Other chunks are bytes and come with no lease.

    Under gunicorn every read has a `BodyBudget` (a read timeout and a minimum rate): a client
    too slow gets 408. If the body is not read to its end (an error, a refusal, a timeout),
    gunicorn is told so and closes the connection instead of reading the rest as a request.
    """
    sock = meta.get("gunicorn.socket")
    body = meta.get("wsgi.input")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    body_buffer = getattr(body, "buf", None)
    direct = (
        sock is not None
        and type(reader).__name__ == "LengthReader"
        and reader.length == length
        and hasattr(unreader, "take_buffered")
        and body_buffer is not None
        and body_buffer.tell() == 0
    )
    budget = BodyBudget(sock) if sock is not None else None
    complete = False
    try:
        if direct:
            yield from _socket_chunks(sock, reader, unreader, length, budget)
        else:
            yield from _stream_chunks(stream, budget)
        complete = True
    except (BlockingIOError, TimeoutError) as exc:
        raise BodyTooSlow() from exc
    finally:
        if budget is not None:
            budget.close()
        if not complete and body is not None and hasattr(body, "failed"):
            body.failed = True  # gunicorn: the rest of the body is unread, close the connection


def _stream_chunks(stream, budget: "BodyBudget | None"):
    # Smaller reads than CHUNK_BYTES under gunicorn, so the rate is checked more often: a
    # stream read waits until it has all the bytes it asked for.
    size = CHUNK_BYTES if budget is None else 64 * 1024
    while stream is not None:
        if budget is not None:
            budget.before_read()
        chunk = stream.read(size)
        if not chunk:
            return
        if budget is not None:
            budget.received += len(chunk)
        yield chunk, None


def _socket_chunks(sock, reader, unreader, length: int, budget: "BodyBudget"):
    pending = unreader.take_buffered()
    if len(pending) > length:  # the start of a pipelined next request: leave it to gunicorn
        unreader.unread(pending[length:])
        pending = pending[:length]
    reader.length = 0
    remaining = length - len(pending)
    budget.received += len(pending)
    if pending:
        yield pending, None
    buffers = ReceiveBuffers()
    while remaining >= buffers.size:
        lease = buffers.take()
        _receive_into(sock, memoryview(lease.buffer), budget)
        remaining -= buffers.size
        yield lease.buffer, lease
        lease.release()
    while remaining > 0:  # the tail, shorter than a buffer
        budget.before_read()
        chunk = sock.recv(remaining)
        if not chunk:
            raise ParseError("The request body ended early.")
        remaining -= len(chunk)
        budget.received += len(chunk)
        yield chunk, None


def _receive_into(sock, view: memoryview, budget: "BodyBudget") -> None:
    """Fill the whole view from the socket (MSG_WAITALL: in one call unless interrupted, or cut
    short by the budget's receive timeout, after which the budget decides whether to go on)."""
    filled = 0
    while filled < len(view):
        budget.before_read()
        received = sock.recv_into(view[filled:], 0, socket.MSG_WAITALL)
        if not received:
            raise ParseError("The request body ended early.")
        filled += received
        budget.received += received


def body_left_unread(meta) -> None:
    """Under gunicorn: the body is refused unread, so the connection must close after the answer."""
    body = meta.get("wsgi.input")
    if hasattr(body, "failed"):
        body.failed = True
