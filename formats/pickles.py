"""A static scan of pickle data: which globals it imports, and an advisory verdict. Nothing is
unpickled: the opcodes are read with pickletools.genops and a symbolic stack, the way
fickling and picklescan read them, with bounds on bytes, opcodes and time.

The verdict is an allow-list's, not a deny-list's: a pickle is "safe-looking" only when every
global it imports is one that the checkpoints of PyTorch, NumPy and the standard library are
made of and that does nothing but rebuild data. Anything else makes it "suspicious" and is
named, whether it is a known way to run code (os.system, builtins.eval) or a name Maisie does
not know: public deny-list scanners are bypassed every few months by a gadget they did not list
(modelscan#330, picklescan#74). "unknown" means the scan could not finish (a bound, a malformed
or compressed stream, a name built at load time), and says why.
"""

import io
import pickletools
import time
from dataclasses import dataclass, field

from django.conf import settings

from formats.verdicts import PICKLE, SUSPICIOUS, UNKNOWN

MAX_PICKLE_BYTES = 256 * 1024 * 1024
MAX_OPCODES = 5_000_000
MAX_SECONDS = 20.0
MAX_GLOBALS_KEPT = 200

# torch.<name> and numpy.<name> that are types, dtypes or layouts, which a pickle calls only to
# rebuild a value (torch.FloatStorage, torch.float16, torch.Size, numpy.float64).
TORCH_DATA = {"Size", "device", "dtype", "layout", "memory_format", "Tensor", "strided", "sparse_coo",
              "sparse_csr", "contiguous_format", "channels_last", "preserve_format"}  # fmt: skip
DTYPE_NAMES = {"float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
               "bool", "bool_", "complex64", "complex128", "half", "float", "double", "long", "int", "short",
               "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "str_", "object_"}  # fmt: skip
# Single names that only rebuild data (torch's tensor and storage rebuilders, NumPy's arrays).
SAFE_GLOBALS = {
    "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.slice", "builtins.complex",
    "builtins.bytes", "builtins.int", "builtins.float", "builtins.str", "builtins.list", "builtins.dict",
    "builtins.tuple", "builtins.bool", "builtins.object", "__builtin__.set", "__builtin__.object",
    "copyreg._reconstructor", "_codecs.encode",
    "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._tensor._rebuild_from_type_v2", "torch.storage._load_from_bytes_placeholder",
    "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
    "numpy.ndarray", "numpy.dtype", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "numpy.dtypes.Float64DType", "numpy.dtypes.Float32DType", "numpy.dtypes.Int64DType",
    "joblib.numpy_pickle.NumpyArrayWrapper",
}  # fmt: skip
# Known ways to run code or touch the system, named as such in the verdict's reason.
DANGEROUS = ("os.", "posix.", "nt.", "subprocess.", "builtins.eval", "builtins.exec", "builtins.compile",
             "builtins.open", "builtins.__import__", "builtins.getattr", "builtins.setattr", "builtins.breakpoint",
             "builtins.input", "__builtin__.", "sys.", "socket.", "shutil.", "runpy.", "importlib.", "pickle.",
             "_pickle.", "marshal.", "types.", "ctypes.", "webbrowser.", "pty.", "code.", "pip.", "pydoc.",
             "operator.", "functools.", "asyncio.", "multiprocessing.", "requests.", "urllib.", "httplib.",
             "http.", "ftplib.", "telnetlib.", "smtplib.", "bdb.", "pdb.", "timeit.", "cProfile.", "profile.",
             "trace.", "torch.load", "torch.hub", "torch.jit", "numpy.testing", "numpy.load")  # fmt: skip


def _own_safe_globals() -> tuple[str, ...]:
    # Operators may trust more names (an in-house library's classes): MAISIE_PICKLE_SAFE_GLOBALS.
    return tuple(getattr(settings, "MAISIE_PICKLE_SAFE_GLOBALS", ()))


def is_safe(name: str) -> bool:
    if name in SAFE_GLOBALS:
        return True
    module, _, attr = name.rpartition(".")
    if module == "torch" and (attr.endswith("Storage") or attr in TORCH_DATA or attr in DTYPE_NAMES):
        return True
    if module == "numpy" and attr in DTYPE_NAMES:
        return True
    return any(name == p or name.startswith(p if p.endswith(".") else p + ".") for p in _own_safe_globals())


def is_dangerous(name: str) -> bool:
    return any(name.startswith(p) if p.endswith(".") else name == p or name.startswith(p + ".") for p in DANGEROUS)


@dataclass
class Global:
    """A global the pickle imports, as the symbolic stack holds it."""

    name: str


MARK = object()


@dataclass
class Scan:
    globals: list[str] = field(default_factory=list)
    verdict: str = UNKNOWN
    reason: str = ""
    complete: bool = False
    # What a PyTorch checkpoint's pickle says of its tensors, read from the symbolic stack:
    # its storages (key -> (storage type, elements)) and how many tensors it rebuilds.
    storages: dict = field(default_factory=dict)
    tensors: int = 0


class _Limited:
    """What genops reads from: at most `limit` bytes. genops reads a length from the data and
    then asks for that many bytes at once, so a hostile length is refused before any buffer of
    that size is made; the length costs nothing, the bytes read cost at most the bound."""

    def __init__(self, f, limit: int):
        self.buf, self.left = io.BufferedReader(_Raw(f), 1024 * 1024), limit

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self.left:
            raise OverflowError("bound")
        data = self.buf.read(n)
        self.left -= len(data)
        return data

    def readline(self) -> bytes:
        line = self.buf.readline(self.left)
        self.left -= len(line)
        if self.left <= 0:
            raise OverflowError("bound")
        return line

    def peek(self, n: int) -> bytes:
        return self.buf.peek(n)[:n]

    def tell(self) -> int:
        return self.buf.tell()


class _Raw(io.RawIOBase):
    """Any object with read(n) as a raw stream (zip members, decompressors, S3 bodies)."""

    def __init__(self, f):
        self.f, self.pos = f, 0

    def readable(self):
        return True

    def tell(self):
        return self.pos  # genops asks for positions; the stream itself need not seek

    def readinto(self, b):
        data = self.f.read(len(b))
        b[: len(data)] = data
        self.pos += len(data)
        return len(data)


def scan(f, *, limit: int = MAX_PICKLE_BYTES, pickles: int = 1) -> Scan:
    """Scan the pickle stream at the start of a binary file object, at most `limit` bytes of it.
    `pickles` > 1 scans that many pickles one after the other (torch's legacy format writes
    five), stopping quietly where the data after one is not another."""
    result = Scan()
    seen: dict[str, None] = {}
    deadline = time.monotonic() + MAX_SECONDS
    stream = _Limited(f, limit)
    count = 0
    for index in range(pickles):
        if index and stream.peek(2)[:1] != b"\x80":
            break  # the data after the last pickle (a legacy checkpoint's raw storages)
        stack: list = []
        memo: dict = {}
        result.complete = False
        try:
            for op, arg, _pos in pickletools.genops(stream):
                count += 1
                if count > MAX_OPCODES:
                    raise OverflowError("opcodes")
                if count % 8192 == 0 and time.monotonic() > deadline:
                    raise OverflowError("time")
                _step(op, arg, stack, memo, seen, result)
            result.complete = True
        except OverflowError as e:
            result.reason = {
                "bound": f"the pickle is larger than the {limit:,} bytes Maisie scans",
                "opcodes": f"the pickle has more than {MAX_OPCODES:,} opcodes",
                "time": "scanning took longer than Maisie allows",
            }.get(str(e), "a bound was reached")
        except _Unresolved as e:
            result.reason = str(e)
        except Exception as e:  # a malformed stream is an unfinished scan, never a crash
            result.reason = f"the data is malformed or not plain pickle ({type(e).__name__}: {str(e)[:120]})"
        if not result.complete:
            break
    result.globals = list(seen)[:MAX_GLOBALS_KEPT]
    judge(result)
    return result


class _Unresolved(Exception):
    pass


def _pop_to_mark(stack: list) -> list:
    items = []
    while True:
        item = stack.pop()  # IndexError on a malformed stream: caught as malformed
        if item is MARK:
            return items[::-1]
        items.append(item)


def _record(name: str, seen: dict) -> Global:
    seen[name] = None
    return Global(name)


def _step(op, arg, stack: list, memo: dict, seen: dict, result: Scan) -> None:
    name = op.name
    if name in ("GLOBAL", "INST"):
        module, _, attr = arg.partition(" ")
        g = _record(f"{module}.{attr}", seen)
        if name == "INST":
            _pop_to_mark(stack)
            stack.append(None)
        else:
            stack.append(g)
        return
    if name == "STACK_GLOBAL":
        attr, module = stack.pop(), stack.pop()
        if not (isinstance(module, str) and isinstance(attr, str)):
            # The name is computed at load time: whatever it is, this scan cannot vouch for it.
            raise _Unresolved("a global's name is built at load time, so the scan cannot tell what it imports")
        stack.append(_record(f"{module}.{attr}", seen))
        return
    if name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
        return
    if name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
        return
    if name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo.get(arg))
        return
    if name == "MARK":
        stack.append(MARK)
        return
    if name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
        n = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}.get(name)
        items = _pop_to_mark(stack) if n is None else [stack.pop() for _ in range(n)][::-1]
        stack.append(tuple(items))
        return
    if name == "EMPTY_TUPLE":
        stack.append(())
        return
    if name in ("BINPERSID", "PERSID"):
        pid = stack.pop() if name == "BINPERSID" else arg
        _storage(pid, result)
        stack.append(None)
        return
    if name == "REDUCE":
        _args, func = stack.pop(), stack.pop()
        if isinstance(func, Global) and func.name.startswith("torch._utils._rebuild_"):
            result.tensors += 1
        stack.append(None)
        return
    if isinstance(arg, str) and op.stack_after and not op.stack_before:
        stack.append(arg)  # a string pushed (UNICODE, SHORT_BINUNICODE, STRING, ...)
        return
    if isinstance(arg, (int, bytes)) and len(op.stack_after) == 1 and not op.stack_before:
        stack.append(arg)
        return
    # Every other opcode: its documented stack effect, with unknown values.
    before = op.stack_before
    if pickletools.markobject in before:
        below = before.index(pickletools.markobject)
        _pop_to_mark(stack)
        for _ in range(below):
            stack.pop()
    else:
        for _ in before:
            stack.pop()
    for item in op.stack_after:
        stack.append(MARK if item is pickletools.markobject else None)


def _storage(pid, result: Scan) -> None:
    # torch.save's persistent ids: ('storage', <storage type global>, key, location, numel).
    if isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], Global):
        key, numel = pid[2], pid[4]
        if isinstance(key, str) and isinstance(numel, int):
            result.storages[key] = (pid[1].name, numel)


def judge(result: Scan) -> None:
    unsafe = [g for g in result.globals if not is_safe(g)]
    dangerous = [g for g in unsafe if is_dangerous(g)]
    if unsafe:
        result.verdict = SUSPICIOUS
        named = ", ".join(unsafe[:10]) + (f" and {len(unsafe) - 10} more" if len(unsafe) > 10 else "")
        kind = "known to run code or reach the system" if dangerous else "outside Maisie's list of data-only names"
        result.reason = f"imports {named} ({kind}); loading it runs whatever they do" + (
            f"; the scan also stopped early: {result.reason}" if result.reason else ""
        )
    elif not result.complete:
        result.verdict = UNKNOWN
        result.reason = result.reason or "the pickle ended before its STOP opcode"
    else:
        result.verdict = PICKLE
        result.reason = "imports only names that rebuild tensors and arrays" if result.globals else "imports nothing"
