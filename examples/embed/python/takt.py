"""takt from Python through ctypes: the C API of include/takt/takt.h, wrapped in a class.

    from takt import Engine
    with Engine({"workflows": ["workflows"], "store": "plant.db"}) as engine:
        result = engine.submit('{"id": "e1", ...}')

The library is found through TAKT_LIBRARY (a path to libtakt.so), else by the loader
(libtakt.so.0.1 in a directory it searches). JSON goes in and comes out as Python values.
"""
import ctypes
import json
import os

_LOG = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
_COMMAND = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)


class _Callbacks(ctypes.Structure):
    _fields_ = [("log", _LOG), ("command", _COMMAND), ("context", ctypes.c_void_p)]


def _load():
    lib = ctypes.CDLL(os.environ.get("TAKT_LIBRARY", "libtakt.so.0.1"))
    out = ctypes.POINTER(ctypes.c_void_p)  # char** as void** so that takt_free gets the pointer
    engine = ctypes.c_void_p
    signatures = {
        "takt_version": (ctypes.c_char_p, []),
        "takt_last_error": (ctypes.c_char_p, []),
        "takt_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_Callbacks),
                                     ctypes.POINTER(engine)]),
        "takt_close": (ctypes.c_int, [engine]),
        "takt_submit": (ctypes.c_int, [engine, ctypes.c_char_p, ctypes.c_size_t, out]),
        "takt_submit_batch": (ctypes.c_int, [engine, ctypes.c_char_p, ctypes.c_size_t, out]),
        "takt_get_instance": (ctypes.c_int, [engine, ctypes.c_char_p, ctypes.c_char_p, out]),
        "takt_stats": (ctypes.c_int, [engine, out]),
        "takt_reload_rules": (ctypes.c_int, [engine]),
        "takt_pending_commands": (ctypes.c_int, [engine, ctypes.c_size_t, out]),
        "takt_mark_delivered": (ctypes.c_int, [engine, ctypes.c_char_p]),
        "takt_mark_failed": (ctypes.c_int, [engine, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]),
        "takt_free": (None, [ctypes.c_void_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_lib = _load()
CODES = ["ok", "invalid_argument", "not_found", "already_exists", "parse_error", "rule_error",
         "limit_exceeded", "io_error", "corruption", "internal"]


class TaktError(Exception):
    """A failed call: .code is one of CODES, the message says why."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = CODES[code] if 0 <= code < len(CODES) else str(code)


def version():
    return _lib.takt_version().decode()


def _check(code):
    if code != 0:
        raise TaktError(code, _lib.takt_last_error().decode())


def _taken(pointer):
    """The JSON text takt returned, as a Python value; the C string is freed."""
    try:
        return json.loads(ctypes.string_at(pointer.value).decode())
    finally:
        _lib.takt_free(pointer)


class Engine:
    """An engine of the options given (docs/embedding.md), with optional callbacks:
    on_command(command: dict) after each commit, on_log(level: int, message: str)."""

    def __init__(self, options, on_command=None, on_log=None):
        # The C callbacks must live as long as the engine: kept on the object.
        self._log = _LOG(lambda _, level, message: on_log(level, message.decode())) \
            if on_log else _LOG()
        self._command = _COMMAND(lambda _, command: on_command(json.loads(command.decode()))) \
            if on_command else _COMMAND()
        self._callbacks = _Callbacks(self._log, self._command, None)
        self._handle = ctypes.c_void_p()
        _check(_lib.takt_open(json.dumps(options).encode(), ctypes.byref(self._callbacks),
                              ctypes.byref(self._handle)))

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def close(self):
        if self._handle:
            handle, self._handle = self._handle, ctypes.c_void_p()
            _check(_lib.takt_close(handle))

    def _call(self, function, *args):
        out = ctypes.c_void_p()
        _check(function(self._handle, *args, ctypes.byref(out)))
        return _taken(out)

    def submit(self, event_json):
        data = event_json.encode()
        return self._call(_lib.takt_submit, data, len(data))

    def submit_batch(self, events_json):
        data = "\n".join(events_json).encode()
        return self._call(_lib.takt_submit_batch, data, len(data))

    def instance(self, workflow, key):
        return self._call(_lib.takt_get_instance, workflow.encode(), key.encode())

    def stats(self):
        return self._call(_lib.takt_stats)

    def reload_rules(self):
        _check(_lib.takt_reload_rules(self._handle))

    def pending_commands(self, limit=256):
        return self._call(_lib.takt_pending_commands, limit)

    def mark_delivered(self, command_id):
        _check(_lib.takt_mark_delivered(self._handle, command_id.encode()))

    def mark_failed(self, command_id, error, give_up=False):
        _check(_lib.takt_mark_failed(self._handle, command_id.encode(), error.encode(),
                                     1 if give_up else 0))
