"""Keras scanner: ``.keras`` ``config.json``, legacy ``.h5`` ``model_config``/``training_config``, and the
per-object JSON of ``keras_metadata.pb``.

Invariants: scanning never imports TensorFlow or Keras and never unmarshals, imports or calls anything the
config names; it parses JSON (bounded size and depth) and walks *every* value, whatever the key: nested
models, wrappers, initializers, regularizers, constraints, losses, metrics and optimizers are all just
dicts. h5py (the ``keras`` extra) is imported lazily, only to read the two attributes of an HDF5 file;
any error it raises on a hostile file is an SL002 finding, never "clean".

What is ranked (rules SL401-SL407):
- a function serialized by value: ``Lambda`` bytecode, ``__lambda__`` objects, marshalled code anywhere;
- a ``module``/``fn_module``/``registered_name``/``class_name`` reference resolving outside Keras' own
  serializable names (SL402, trustable by ``module.name``) or to a dangerous module (SL403);
- ``enable_unsafe_deserialization`` (SL404), ``keras.utils.get_file`` (SL405), ``TorchModuleWrapper`` whose
  embedded torch pickle is scanned as a nested payload (SL406); facts (SL407).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from safeload._context import LimitExceeded, ScanContext
from safeload._source import BufferFile
from safeload.catalog.classify import classify
from safeload.catalog.keras import (
    KERAS_DANGEROUS,
    KERAS_FILE_LOADERS,
    KERAS_PACKAGES,
    TF_FUNCTION_DENY,
    TF_KERAS_DATA_CLASSES,
    TF_KERAS_REGISTERED,
    keras_builtin_function,
    keras_class_names,
    keras_names,
)
from safeload.severity import Severity

__all__ = ["BufferFile", "looks_like_marshalled_code", "scan_h5", "scan_keras_config", "scan_keras_json"]

MAX_CONFIG_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 1000
_MAX_WRAPPER_B64 = 4 * 1024**3

# class_name values Keras reserves for data, not for objects it imports.
_DATA_CLASSES = frozenset({"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__",
                           "__slice__"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MARSHAL_CODE = (0xE3, 0x63)  # TYPE_CODE with and without FLAG_REF
_REFERENCE_KEYS = frozenset({"config", "function", "registered_name", "class_name", "module", "fn_module",
                             ""})
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/]")
_LAYER_PATH = re.compile(r"\.layers\[\d+\]$")


class _TooDeepError(Exception):
    pass


@dataclass
class _Stats:
    layers: int = 0
    lambdas: int = 0
    references: int = 0
    classes: set[str] = field(default_factory=set)


def looks_like_marshalled_code(value: str) -> bool:
    """True if ``value`` is base64 of a marshalled Python code object (Keras ``func_dump``)."""
    if len(value) < 24:
        return False
    # Like Keras' base64 decoding (binascii, non-strict), ignore characters outside the alphabet.
    head = _NOT_B64.sub("", value[:256])[:32]
    if not head or head[0] not in "4Y":
        return False
    head = head[: len(head) - len(head) % 4]
    try:
        raw = binascii.a2b_base64(head)
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 13 or raw[0] not in _MARSHAL_CODE:
        return False
    argcount = int.from_bytes(raw[1:5], "little")
    posonly = int.from_bytes(raw[5:9], "little")
    kwonly = int.from_bytes(raw[9:13], "little")
    return argcount < 256 and posonly < 256 and kwonly < 256


class _Walker:
    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self.stats = _Stats()

    # -- traversal ----------------------------------------------------------------------------------------
    def walk(self, root: Any) -> None:
        stack: list[tuple[Any, str, int]] = [(root, "$", 0)]
        steps = 0
        while stack:
            node, path, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise _TooDeepError(path)
            steps += 1
            if steps % 4096 == 0:
                self.ctx.check_time()
            if isinstance(node, dict):
                if self.inspect_dict(node, path):
                    continue  # already reported as code serialized by value
                for key, value in node.items():
                    if isinstance(value, dict | list):
                        stack.append((value, f"{path}.{key}", depth + 1))
                    elif isinstance(value, str):
                        self.inspect_string(value, f"{path}.{key}", str(key))
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    if isinstance(value, dict | list):
                        stack.append((value, f"{path}[{i}]", depth + 1))
                    elif isinstance(value, str):
                        self.inspect_string(value, f"{path}[{i}]", "")

    # -- strings ------------------------------------------------------------------------------------------
    def inspect_string(self, value: str, path: str, key: str) -> None:
        if looks_like_marshalled_code(value):
            self.stats.lambdas += 1
            self.ctx.add("SL401", f"marshalled Python bytecode at {path}: Keras rebuilds and runs it",
                         subject=path, details={"path": path})
            return
        if len(value) > 256 or key in {"name"}:
            return
        tail = value.rsplit(".", 1)[-1].rsplit(">", 1)[-1]
        if tail == "enable_unsafe_deserialization":
            self.ctx.add("SL404", f"the config names enable_unsafe_deserialization at {path}", subject=value,
                         details={"path": path})
        elif tail == "get_file" and key in _REFERENCE_KEYS:
            self.ctx.add("SL405", f"the config names get_file at {path}", subject=value,
                         details={"path": path})

    # -- objects ------------------------------------------------------------------------------------------
    def inspect_dict(self, d: dict[str, Any], path: str) -> bool:
        """Rank one dict; True when its children need no further look (a lambda already reported)."""
        class_name = d.get("class_name")
        if not isinstance(class_name, str):
            if "module" in d or "fn_module" in d or "registered_name" in d:
                # A reference without a class name: Keras cannot rebuild it, but a patched loader might.
                module = d.get("module", d.get("fn_module"))
                if isinstance(module, str) and _IDENT.match(module) and \
                        module.split(".", 1)[0] not in KERAS_PACKAGES:
                    self.reference(module, "", None, "module", path)
            return False
        if class_name == "__lambda__":
            self.stats.lambdas += 1
            self.ctx.add("SL401", f"a Python lambda serialized by value at {path}", subject=path,
                         details={"path": path})
            return True
        if class_name in _DATA_CLASSES:
            return False
        if class_name in TF_KERAS_DATA_CLASSES and not any(k in d for k in ("module", "fn_module",
                                                                          "registered_name")):
            return False  # tf_keras JSON data (tuples, shapes, registered type specs): nothing is imported
        if class_name == "__typespec__" and str(d.get("module", "")).startswith("tensorflow.") and \
                str(d.get("spec_name", "")).endswith("Spec") and not d.get("registered_name"):
            return False  # a tf.TypeSpec: Keras 3 rebuilds it only from registered objects
        config = d.get("config")
        self.stats.classes.add(class_name)
        if path.endswith((".layer", ".forward_layer", ".backward_layer")) or _LAYER_PATH.search(path):
            self.stats.layers += 1
        if class_name == "Lambda" and isinstance(config, dict):
            self.lambda_layer(config, path)
        elif class_name in {"TFOpLambda", "SlicingOpLambda"} and isinstance(config, dict):
            self.tf_op_lambda(config, path)
        elif class_name == "TorchModuleWrapper":
            self.torch_wrapper(config, path)
        loader = _file_loader_class(class_name, d.get("registered_name"))
        if loader is not None and isinstance(config, dict):
            self.file_loader(loader, config, path)
        module = d.get("module", d.get("fn_module"))
        registered = d.get("registered_name")
        if class_name == "function":
            name = config if isinstance(config, str) else registered if isinstance(registered, str) else ""
            self.reference(module if isinstance(module, str) else None, name, registered, "function", path)
        else:
            self.reference(module if isinstance(module, str) else None, class_name, registered, "class", path)
        return False

    def lambda_layer(self, config: dict[str, Any], path: str) -> None:
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            kind = config.get(f"{key}_type")
            if key == "function":
                kind = config.get("function_type", kind)
            by_value = kind == "lambda" or (isinstance(value, list) and bool(value)
                                            and isinstance(value[0], str))
            if isinstance(value, str) and looks_like_marshalled_code(value):
                by_value = True
            if by_value and (key == "function" or kind == "lambda"):
                self.stats.lambdas += 1
                self.ctx.add("SL401", f"Lambda layer {config.get('name', '?')!s:.80} carries Python bytecode "
                             f"({key}) at {path}", subject=f"{path}.config.{key}", details={"path": path})
            elif isinstance(value, str) and kind == "function":
                module = config.get("module" if key == "function" else f"{key}_module")
                self.reference(module if isinstance(module, str) else None, value, None, "function",
                               f"{path}.config.{key}")

    def file_loader(self, class_name: str, config: dict[str, Any], path: str) -> None:
        """A layer whose from_config opens a file named in its config: that file is never scanned."""
        keys, what = KERAS_FILE_LOADERS[class_name]
        for key in keys:
            target = config.get(key)
            if not isinstance(target, str) or not target:
                continue
            subject = f"keras.layers.{class_name}"
            details = {"path": path, "file": target[:500]}
            self.ctx.add("SL408", f"{class_name} at {path} names {key}={target[:200]!r}: from_config {what}, "
                         "a file outside this model that safeload never scanned", subject=subject,
                         trustable=True, details=details)

    def tf_op_lambda(self, config: dict[str, Any], path: str) -> None:
        function = config.get("function")
        if not isinstance(function, str):
            return
        name = function.removeprefix("tf.")
        worst: Severity | None = None
        for prefix, level in TF_FUNCTION_DENY.items():
            if (name == prefix or name.startswith(prefix + ".")) and (worst is None or level > worst):
                worst = level
        if worst is not None:
            rule = "SL403" if worst >= Severity.CRITICAL else "SL402"
            self.ctx.add(rule, f"TFOpLambda calls tf.{name}, which has side effects ({path})",
                         severity=worst, subject=f"tensorflow.{name}", details={"path": path})

    def torch_wrapper(self, config: Any, path: str) -> None:
        payload = config.get("module") if isinstance(config, dict) else None
        self.ctx.add("SL406", f"TorchModuleWrapper at {path}: from_config calls "
                     "torch.load(weights_only=False) on an embedded pickle",
                     subject="keras.layers.TorchModuleWrapper", details={"path": path})
        if not isinstance(payload, str):
            return
        if len(payload) > _MAX_WRAPPER_B64:
            raise LimitExceeded("SL018", "TorchModuleWrapper payload is larger than the limit")
        try:
            raw = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as exc:
            self.ctx.add("SL002", f"TorchModuleWrapper payload is not valid base64: {exc}")
            return
        from safeload.scan import scan_buffer

        with self.ctx.inside("TorchModuleWrapper", nested=True):
            scan_buffer(raw, self.ctx)

    # -- name resolution ------------------------------------------------------------------------------------
    def reference(self, module: str | None, name: str, registered: Any, kind: str, path: str) -> None:
        self.stats.references += 1
        registered_name = registered if isinstance(registered, str) else None
        if (module is None or module == "") and "." in name and _IDENT.match(name):
            module, _, name = name.rpartition(".")  # a dotted class name: rank it as the module it names
        own_module = module is None or module == "" or module.split(".", 1)[0] in KERAS_PACKAGES
        if own_module and (registered_name or name) in TF_KERAS_REGISTERED and \
                (registered_name is None or registered_name.split(">", 1)[1] == name or registered_name == name):
            return  # tf_keras' own registered classes (its optimizers): resolved in Keras' registry
        if module is None or module == "":
            if registered_name and ">" in registered_name:
                self.external(registered_name, path, "a registered custom object")
                return
            if kind == "class" and name in keras_class_names():
                return
            if kind == "function" and (keras_builtin_function(name) or not name):
                return
            if name:
                self.external(name, path, f"a {kind} that is not one of Keras' own")
            return
        if not _IDENT.match(module) or (name and not _IDENT.match(name)):
            self.ctx.add("SL403", f"malformed module reference {module!r}/{name!r} at {path}",
                         subject=f"{module}.{name}", details={"path": path})
            return
        full = f"{module}.{name}" if name else module
        danger = KERAS_DANGEROUS.get(full)
        if danger is not None:
            rule, level, reason = danger
            self.ctx.add(rule, f"{full} at {path}: {reason}", severity=level, subject=full,
                         details={"path": path})
            return
        package = module.split(".", 1)[0]
        if module == "builtins" and kind == "function":
            if keras_builtin_function(name):
                return
            self.python_reference(module, name, path)
            return
        if registered_name and ">" in registered_name and package in KERAS_PACKAGES:
            self.external(registered_name, path, "a registered custom object")
            return
        if package in KERAS_PACKAGES:
            if full in keras_names():
                return
            if package == "keras" and not name:
                return
            if kind == "class" and name in keras_class_names():
                return  # a Keras class whose module moved between versions
            if package != "keras" and kind == "class" and name[:1].isupper():
                return  # keras_hub / keras_cv / tf_keras classes: Keras checks they are KerasSaveable
        if package == "tensorflow" and kind == "class" and name in keras_class_names() and ".keras" in module:
            return
        self.python_reference(module, name, path)

    def python_reference(self, module: str, name: str, path: str) -> None:
        full = f"{module}.{name}" if name else module
        found = classify(module, name)
        if found.kind in {"denied", "dynamic", "argcheck"} and found.severity is not None \
                and found.severity >= Severity.HIGH:
            self.ctx.add("SL403", f"{full} at {path}: {found.reason or 'dangerous'}", severity=found.severity,
                         subject=full, details={"path": path})
            return
        self.external(full, path, "outside Keras' own namespaces")

    def external(self, subject: str, path: str, what: str) -> None:
        self.ctx.add("SL402", f"{subject} at {path}: {what}; Keras imports and calls it while rebuilding",
                     subject=subject, trustable=True, details={"path": path})


def _file_loader_class(class_name: str, registered: Any) -> str | None:
    """The KERAS_FILE_LOADERS entry a config names, however it spells it (``TFSMLayer``,
    ``keras.layers.TFSMLayer``, a registered name ``keras>TFSMLayer``)."""
    for name in (class_name, registered if isinstance(registered, str) else ""):
        tail = name.rsplit(".", 1)[-1].rsplit(">", 1)[-1]
        if tail in KERAS_FILE_LOADERS:
            return tail
    return None


def _parse_json(data: Any, ctx: ScanContext, what: str) -> tuple[bool, Any]:
    if len(data) > MAX_CONFIG_BYTES:
        ctx.add("SL018", f"{what} is {len(data)} bytes, more than the {MAX_CONFIG_BYTES} byte limit")
        return False, None
    raw = bytes(data)
    try:
        return True, json.loads(raw)
    except RecursionError:
        ctx.add("SL002", f"{what} is nested too deeply to parse")
    except (ValueError, UnicodeDecodeError) as exc:
        ctx.add("SL002", f"{what} is not valid JSON: {str(exc)[:200]}")
    return False, None


def _walk(value: Any, ctx: ScanContext, what: str) -> _Stats | None:
    walker = _Walker(ctx)
    try:
        walker.walk(value)
    except _TooDeepError as exc:
        ctx.add("SL002", f"{what} is nested more than {MAX_DEPTH} levels deep (at {str(exc)[:200]})")
        return None
    return walker.stats


def _facts(stats: _Stats, ctx: ScanContext, extra: dict[str, Any]) -> None:
    ctx.add("SL407", f"Keras model: {stats.layers} layer(s), {stats.lambdas} by-value function(s), "
            f"{len(stats.classes)} distinct classes",
            details={"layers": stats.layers, "lambdas": stats.lambdas, "references": stats.references,
                     "classes": sorted(stats.classes)[:100], **extra})


def scan_keras_json(value: Any, ctx: ScanContext, *, facts: bool = True, what: str = "config") -> None:
    """Walk an already parsed Keras config (dicts, lists and strings)."""
    stats = _walk(value, ctx, what)
    if stats is not None and facts:
        _facts(stats, ctx, {})


def scan_keras_config(data: bytes, ctx: ScanContext, *, facts: bool = True) -> None:
    """Scan a Keras v3 ``config.json`` (or any Keras JSON config) held in ``data``."""
    ctx.note_format("keras")
    ok, value = _parse_json(data, ctx, "Keras config")
    if ok:
        scan_keras_json(value, ctx, facts=facts, what="Keras config")


def _attr_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if hasattr(value, "tobytes") and getattr(value, "dtype", None) is not None and value.dtype.kind in "SO":
        item = value.item() if getattr(value, "size", 0) == 1 else None
        return _attr_text(item)
    return str(value)


def _h5_attributes(data: Any) -> Iterator[tuple[str, str | None]]:
    import h5py

    with BufferFile(data) as raw, h5py.File(raw, mode="r") as handle:
        attrs = handle.attrs
        for key in ("model_config", "training_config", "keras_version", "backend"):
            yield key, _attr_text(attrs.get(key)) if key in attrs else None


def scan_h5(data: Any, ctx: ScanContext) -> None:
    """Scan a legacy Keras ``.h5`` file: its ``model_config`` and ``training_config`` attributes."""
    ctx.note_format("hdf5")
    try:
        import h5py  # noqa: F401
    except ImportError:
        ctx.add("SL002", "HDF5 file: scanning .h5 models needs h5py (pip install 'safeload[keras]')")
        return
    try:
        attrs = dict(_h5_attributes(data))
    except Exception as exc:  # noqa: BLE001 - libhdf5 parses hostile input; any failure must block
        ctx.add("SL002", f"HDF5 file could not be read: {type(exc).__name__}: {str(exc)[:200]}")
        return
    model_config, training_config = attrs.get("model_config"), attrs.get("training_config")
    if model_config is None:
        ctx.add("SL407", "HDF5 file without a model_config (weights only): no code to rebuild",
                details={"keras_version": attrs.get("keras_version")})
        if training_config is None:
            return
    total = _Stats()
    for key, text in (("model_config", model_config), ("training_config", training_config)):
        if text is None:
            continue
        with ctx.inside(key):
            ok, value = _parse_json(text.encode("utf-8"), ctx, key)
            if not ok:
                continue
            stats = _walk(value, ctx, key)
        if stats is not None:
            total.layers += stats.layers
            total.lambdas += stats.lambdas
            total.references += stats.references
            total.classes |= stats.classes
    _facts(total, ctx, {"keras_version": attrs.get("keras_version"), "backend": attrs.get("backend")})


def scan_keras_metadata_objects(objects: list[tuple[str, str]], ctx: ScanContext) -> None:
    """Scan the per-object Keras JSON of a tf-keras ``keras_metadata.pb``."""
    for path, metadata in objects:
        with ctx.inside(path or "<object>"):
            scan_keras_config(metadata.encode("utf-8"), ctx, facts=False)
