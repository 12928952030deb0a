"""The rule catalogue: one stable id per detector, read by findings, errors, reports and the docs.

Invariant: rule ids never change meaning once published (SARIF dashboards key alerts on them); a rule's
``severity`` is its default, and a finding may carry a different one only where the rule says so
(argument-aware pickle rules rank by what the call can reach). Whether a finding can be *trusted* away is a
property of its rule (``trustable``), narrowed per finding only for the hard floor; the conversion of trusted
findings into SL112 happens in one place, ``ScanContext.add``.
"""

from __future__ import annotations

from safeload._record import FrozenRecord
from safeload.severity import Severity

__all__ = ["NOT_A_MODEL_FACTS", "RULES", "Rule", "fix_for", "get_rule"]

_DOCS = "https://github.com/safeload/safeload/blob/main/docs/rules.md"


class Rule(FrozenRecord):
    """One detector. ``name`` is a short kebab-case slug; ``summary`` one line; ``rationale`` why it matters.

    ``trustable``: a finding of this rule about a name goes away when the policy trusts that name."""

    _FIELDS = ("id", "name", "severity", "summary", "rationale", "formats", "trustable")
    __slots__ = ("formats", "id", "name", "rationale", "severity", "summary", "trustable")
    id: str
    name: str
    severity: Severity
    summary: str
    rationale: str
    formats: tuple[str, ...]
    trustable: bool

    def __init__(self, id: str, name: str, severity: Severity, summary: str, rationale: str,  # noqa: PLR0917 - the dataclass's signature
                 formats: tuple[str, ...] = (), trustable: bool = False) -> None:
        for field, value in (("id", id), ("name", name), ("severity", severity), ("summary", summary),
                             ("rationale", rationale), ("formats", formats), ("trustable", trustable)):
            object.__setattr__(self, field, value)

    @property
    def unreadable(self) -> bool:
        """The file could not be read to the end: no verdict can vouch for it (the CLI fails whatever --fail-on
        says, fail closed)."""
        return self.id in _UNREADABLE_RULES

    @property
    def not_a_model(self) -> bool:
        """The content is not a model at all (unknown content, a Git LFS pointer): reported, never "safe"."""
        return self.id in _NOT_A_MODEL_RULES

    @property
    def help_uri(self) -> str:
        return f"{_DOCS}#{self.id.lower()}-{self.name}"


_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_P = ("pickle",)

_ALL: tuple[Rule, ...] = (
    # --- scan-level rules (every format) ---------------------------------------------------------------
    Rule(
        "SL001",
        "format-detected",
        _I,
        "Format detected and scanned.",
        "Informational: which parser read the bytes, and facts such as protocol and counts.",
    ),
    Rule(
        "SL002",
        "unparseable",
        _H,
        "The file or stream could not be parsed completely.",
        "A scanner that stops early cannot vouch for the rest of the bytes, and the real loader may accept "
        "what the scanner rejects (parser differentials). safeload fails closed: what it cannot read blocks.",
    ),
    Rule(
        "SL003",
        "unknown-format",
        _M,
        "The content matches no format safeload can scan.",
        "Routing is by content, not extension; an unrecognised file cannot be vouched for.",
    ),
    Rule(
        "SL004",
        "lfs-pointer",
        _M,
        "A Git LFS pointer, not a model: the real file was never fetched.",
        "Loading it fails; scanning it proves nothing about the model it points to.",
    ),
    Rule(
        "SL005",
        "internal-error",
        _H,
        "The scanner failed unexpectedly on this input.",
        "An internal error is never read as clean; please report it with the file if you can share it.",
    ),
    Rule(
        "SL006",
        "format-mismatch",
        _L,
        "The file's content does not match its extension.",
        "Extension-routed scanners skip renamed files; safeload scans by content and notes the mismatch.",
    ),
    Rule(
        "SL007", "io-error", _H, "The file could not be read.", "An unreadable file cannot be scanned and is not clean."
    ),
    Rule(
        "SL008",
        "link-escape",
        _H,
        "A symbolic link leads outside the tree being scanned (the HF cache).",
        "A cache whose links point elsewhere has been tampered with; safeload does not follow them.",
    ),
    Rule(
        "SL009",
        "empty-file",
        _M,
        "An empty file: there is no model to scan or load.",
        "A loader fails on it; the scan has nothing to vouch for. Reports show it as skipped (not a model).",
    ),
    # --- resource limits ------------------------------------------------------------------------------
    Rule(
        "SL010",
        "limit-opcodes",
        _H,
        "The pickle has more opcodes than the configured limit.",
        "Bounded work: an opcode flood is a denial of service on the scanner and on the loader.",
    ),
    Rule(
        "SL011",
        "limit-memo",
        _H,
        "The pickle memo grew past the configured limit.",
        "Huge memo indices or counts exhaust memory in the real unpickler.",
    ),
    Rule(
        "SL012",
        "limit-stack",
        _H,
        "The pickle stack or mark nesting grew past the configured limit.",
        "Deep nesting is a denial-of-service vector.",
    ),
    Rule(
        "SL013",
        "limit-nesting",
        _H,
        "Embedded payloads are nested deeper than the configured limit.",
        "Pickles inside bytes inside pickles can recurse without end.",
    ),
    Rule(
        "SL014",
        "limit-time",
        _H,
        "The scan took longer than the configured time limit.",
        "A scan that does not finish cannot vouch for the file.",
    ),
    Rule(
        "SL015",
        "limit-members",
        _H,
        "The archive has more members than the configured limit.",
        "Archive bombs exhaust the scanner and the loader.",
    ),
    Rule(
        "SL016",
        "limit-decompressed-size",
        _H,
        "Decompressed data exceeds the configured size limit.",
        "Decompression bombs: a small file inflating to gigabytes.",
    ),
    Rule(
        "SL017",
        "limit-compression-ratio",
        _H,
        "The compression ratio exceeds the configured limit.",
        "Decompression bombs have ratios no real model file has.",
    ),
    Rule(
        "SL018",
        "limit-length",
        _H,
        "A length field is larger than the data that follows it, or a call asks for far more memory than the file "
        "holds.",
        "Absurd lengths make loaders allocate huge buffers; such a file is corrupt or hostile. A pickle calling an "
        "allowed constructor (numpy.ones, bytearray, list(range(n))) with a size above `limits.max_allocation_bytes` "
        "(1 GiB) plus 16 times its own size is refused: a few bytes must not make the load allocate tens of GiB.",
    ),
    Rule(
        "SL019",
        "companion-file",
        _I,
        "The loader also reads another file by name (a joblib < 0.10 companion array); it was scanned too.",
        "A pinned digest, lock entry or signature covers the file it names only: with one, such a load is "
        "refused, since the companion could change under an unchanged pin.",
    ),
    Rule(
        "SL020",
        "limit-hash-collisions",
        _H,
        "More distinct dict keys or set items than the configured limit share one hash at load.",
        "A hash-collision flood: ints 5, 5 + (2**61 - 1), ... (or Fractions, UUIDs, sympy numbers, tuples made of "
        "them) all hash alike, and a dict or set of k of them costs k**2/2 comparisons to build -- minutes for a "
        "1 MB file. Real data never has more than a few distinct keys on one hash "
        "(limits.max_key_collisions, 128 by default).",
    ),
    # --- pickle -----------------------------------------------------------------------------------------
    Rule("SL100", "pickle-info", _I, "Pickle stream facts: protocol, opcodes, globals.", "Informational.", _P),
    Rule(
        "SL101",
        "pickle-exec-global",
        _C,
        "A global that runs code or commands (eval, os.system, ...).",
        "Unpickling calls it: arbitrary code execution on load.",
        _P,
        trustable=True,
    ),
    Rule(
        "SL102",
        "pickle-side-effect-global",
        _H,
        "A global with file, network, process or import effects.",
        "Unpickling can read or write files, open connections or import arbitrary modules.",
        _P,
        trustable=True,
    ),
    Rule(
        "SL103",
        "pickle-nested-loader",
        _H,
        "A nested loader (pickle.loads, torch.load, ...) on embedded data.",
        "Pickle-in-pickle hides a second payload; safeload scans the embedded bytes too.",
        _P,
        trustable=True,
    ),
    Rule(
        "SL104",
        "pickle-unknown-callable",
        _M,
        "A global outside the allowlist is called or instantiated.",
        "Code safeload has not vetted runs at load time. Trust it by name once you have reviewed it.",
        _P,
        trustable=True,
    ),
    Rule(
        "SL105",
        "pickle-unknown-reference",
        _M,
        "A global outside the allowlist is imported and referenced, not called by the load itself.",
        "Importing a module runs its top-level code, and a referenced class or function sits where code that "
        "holds the loaded object may call it (a defaultdict factory, a stored callback). Nothing outside the "
        "allowlist passes by default; trust it by name once you have reviewed it.",
        _P,
        trustable=True,
    ),
    Rule(
        "SL106",
        "pickle-code-object",
        _C,
        "Python code objects or functions are rebuilt (dill, cloudpickle, marshal).",
        "Serialized bytecode is arbitrary code.",
        _P,
    ),
    Rule(
        "SL107",
        "pickle-ext-opcode",
        _M,
        "EXT1/EXT2/EXT4 opcode: a global chosen by the loading process's copyreg registry.",
        "What runs depends on the process that loads the file, not on the file.",
        _P,
    ),
    Rule(
        "SL108",
        "pickle-trailing-bytes",
        _L,
        "Bytes after the last complete pickle stream that are not a pickle.",
        "Polyglots and broken pickles hide data after STOP.",
        _P,
    ),
    Rule(
        "SL109",
        "pickle-global-mutation",
        _H,
        "BUILD sets attributes on an imported global (class, function or module).",
        "Mutating a global at load time rewires code other loads will run (runtime-computed names, gadget set-up).",
        _P,
    ),
    Rule(
        "SL110",
        "pickle-dynamic-global",
        _C,
        "A global whose name is computed at load time or reached through attributes.",
        "Names built by earlier calls, dunder attribute chains or attribute paths through modules evade any list.",
        _P,
    ),
    Rule(
        "SL111",
        "pickle-dynamic-call",
        _M,
        "An object produced at load time is called.",
        "Calling the result of another call hides what actually runs.",
        _P,
    ),
    Rule(
        "SL112",
        "pickle-trusted-global",
        _I,
        "A finding about a name (global, layer, op) that the policy trusts: it would have been flagged.",
        "Informational, but never silent: a load that passes only because of trust is logged and reported as "
        "such, with the rule and severity the finding would have had. (Every format reports trust under this id.)",
    ),
    Rule(
        "SL113",
        "pickle-frame-divergence",
        _H,
        "A FRAME whose boundary splits an opcode or overruns the data.",
        "The C and Python unpicklers read such streams differently (python/cpython#154848); "
        "real picklers never write them. Ranked CRITICAL when an opcode crosses the frame end: reading a file, "
        "the C unpickler then sees a different opcode there, which can hide any call.",
        _P,
    ),
    Rule(
        "SL114",
        "pickle-unusual-opcode",
        _L,
        "Opcodes real picklers do not emit in this position.",
        "Hand-crafted streams are a signal of tampering.",
        _P,
    ),
    Rule(
        "SL115",
        "pickle-use-not-allowed",
        _M,
        "An allowlisted name is used in a way its allowlist entry does not permit.",
        "Allowlist entries permit uses, not names: numpy.memmap may be allocated as an array subtype but not "
        "called (that writes files); a name allowed to be referenced is not allowed to be handed to code that "
        "calls it (a defaultdict factory, the function of a functools.partial, a rebuild helper's argument).",
        _P,
        trustable=True,
    ),
    Rule(
        "SL116",
        "pickle-source-analysed",
        _L,
        "A name outside the catalogue whose installed source was analysed: the uses the file makes of it are inert.",
        "safeload read the class's or function's source from the installed package (without importing it) and "
        "proved that what the load runs for these uses only stores data: default reconstruction, or custom "
        "hooks that only assign. Reported so a reviewer sees what was decided from source rather than by the "
        "reviewed catalogue; see docs/source-analysis.md for the assumptions.",
        _P,
    ),
    Rule(
        "SL117",
        "pickle-shadowed-module",
        _H,
        "A name whose module the load would import from a file outside the installed library.",
        "The catalogue and the source analysis vouch for installed code; the unpickler imports through sys.path, "
        "whose first entry is the working directory or the script's directory. A zoneinfo.py (or numpy/ "
        "directory, or .pyc) shipped beside a model shadows the real module and runs when the load imports it. "
        "Never trusted away: trust names the installed module, not this file.",
        _P,
    ),
    Rule(
        "SL118",
        "catalogue-version-drift",
        _L,
        "A name was admitted by a catalogue shard generated for other versions than the installed ones.",
        "Generated entries say what a load does with each name in the package versions they were generated and "
        "reviewed against (CHECKED_AGAINST); another release may have changed a reconstructor or __setstate__. "
        "Reported so the verdict's basis is visible; regenerate the catalogue for these versions (docs/catalogue.md).",
        _P,
    ),
    Rule(
        "SL119",
        "pickle-import-time-plugin",
        _H,
        "A name whose module's import loads and calls an installed entry-point plugin no review read.",
        "Some reviewed packages call plugins at import: import torch loads and calls every torch.backends entry "
        "point, import networkx every networkx.backend_info one (catalog/plugins.py). The review of their import "
        "holds only while no installed distribution declares one; a declared plugin runs when the load imports "
        "the package. Trust the plugin's module.attr (the finding's subject) once you have reviewed it.",
        _P,
        trustable=True,
    ),
    # --- pytorch -----------------------------------------------------------------------------------------
    Rule(
        "SL201",
        "torch-torchscript",
        _H,
        "A TorchScript archive: torch.load hands it to torch.jit.load, which runs its code.",
        "TorchScript code (e.g. a scripted __setstate__) executes at load time (CVE-2025-32434 class).",
        ("torch",),
    ),
    Rule(
        "SL202",
        "torch-torchscript-side-effect",
        _C,
        "TorchScript code calls file, process or serialization operations.",
        "Such calls run during torch.jit.load.",
        ("torch",),
    ),
    Rule(
        "SL203",
        "zip-anomaly",
        _M,
        "Zip structure differs from what a normal writer produces.",
        "Bad CRCs, odd flags, name mismatches and spanned markers are used to make scanners and loaders disagree.",
        ("zip",),
    ),
    Rule(
        "SL204",
        "zip-duplicate-member",
        _M,
        "The archive holds two members with the same name.",
        "Scanners and loaders may read different copies; every copy is scanned.",
        ("zip",),
    ),
    Rule(
        "SL205",
        "torch-legacy-magic",
        _M,
        "The legacy torch magic number is not a plain integer constant.",
        "A magic number built by an expression executes code before the checkpoint is validated.",
        ("torch",),
    ),
    Rule(
        "SL206",
        "polyglot",
        _H,
        "The file is valid as two formats (e.g. a pickle followed by a zip).",
        "Different loaders read different parts of a polyglot.",
        (),
    ),
    Rule("SL207", "torch-info", _I, "PyTorch container facts.", "Informational.", ("torch",)),
    Rule(
        "SL208",
        "ambiguous-container",
        _H,
        "The loaders that may open this file read different contents from it.",
        "torch.load reads zips through miniz, numpy.load and Keras through Python's zipfile, torch.load tries "
        "tarfile before pickle: an archive with two central directories, a zip64 locator that disagrees, "
        "overlapping members, members after the end record, or a tar member that is a link or sparse shows "
        "each loader a different model. No real writer produces one; every reading is scanned, and the file "
        "is refused.",
        ("zip", "tar"),
    ),
    # --- joblib / numpy ----------------------------------------------------------------------------------
    Rule(
        "SL301", "joblib-info", _I, "joblib container facts: compression, inline arrays.", "Informational.", ("joblib",)
    ),
    Rule(
        "SL302",
        "numpy-object-array",
        _I,
        "An object-dtype array: its elements are a pickle (scanned).",
        "numpy.load(allow_pickle=True) unpickles object arrays.",
        ("numpy",),
    ),
    Rule(
        "SL303",
        "numpy-header",
        _H,
        "A malformed .npy header.",
        "numpy parses the header with ast.literal_eval; a malformed header is corrupt or hostile.",
        ("numpy",),
    ),
    # --- keras ---------------------------------------------------------------------------------------------
    Rule(
        "SL401",
        "keras-lambda",
        _C,
        "A Lambda layer or function serialized as Python bytecode.",
        "Keras unmarshals and runs the bytecode (CVE-2024-3660).",
        ("keras",),
    ),
    Rule(
        "SL402",
        "keras-external-object",
        _M,
        "A config object resolving outside keras' own namespaces.",
        "Keras imports and calls it while rebuilding the model (CVE-2025-1550).",
        ("keras",),
        trustable=True,
    ),
    Rule(
        "SL403",
        "keras-dangerous-object",
        _C,
        "A config object naming a module or function that runs code.",
        "e.g. an initializer {'module': 'builtins', 'class_name': 'exec'} (CVE-2025-1550).",
        ("keras",),
        trustable=True,
    ),
    Rule(
        "SL404",
        "keras-unsafe-deserialization",
        _C,
        "The config turns off Keras safe mode.",
        "enable_unsafe_deserialization in a config disables the Lambda check (CVE-2025-9906).",
        ("keras",),
    ),
    Rule(
        "SL405",
        "keras-get-file",
        _H,
        "The config calls keras.utils.get_file.",
        "Downloads or writes files at load time (CVE-2025-8747).",
        ("keras",),
    ),
    Rule(
        "SL406",
        "keras-torch-module-wrapper",
        _H,
        "TorchModuleWrapper: a torch pickle embedded in the config.",
        "from_config calls torch.load(weights_only=False) (CVE-2025-49655); the embedded pickle is scanned.",
        ("keras",),
    ),
    Rule("SL407", "keras-info", _I, "Keras model facts.", "Informational.", ("keras",)),
    # --- tensorflow ----------------------------------------------------------------------------------------
    Rule(
        "SL501",
        "tf-file-io-op",
        _H,
        "A TensorFlow op that reads, writes or lists files (ReadFile, WriteFile, PrintV2 to a file, ...).",
        "Graph ops run when the model runs; file ops can steal credentials or plant files. CRITICAL for a write "
        "that runs during tf.saved_model.load (restore op, init op, resource initializers).",
        ("savedmodel",),
        trustable=True,
    ),
    Rule(
        "SL502",
        "tf-python-op",
        _C,
        "A TensorFlow op that calls Python (PyFunc, EagerPyFunc).",
        "Runs arbitrary Python registered in the loading process.",
        ("savedmodel",),
        trustable=True,
    ),
    Rule(
        "SL503",
        "tf-unknown-op",
        _M,
        "An op outside TensorFlow's registered op set, or one that runs native code (XLA custom calls).",
        "Custom ops load native code; the op set is a snapshot of the pinned TensorFlow's registry.",
        ("savedmodel",),
        trustable=True,
    ),
    Rule(
        "SL504",
        "tf-io-op",
        _M,
        "Save/Restore-style I/O ops whose path is not proven to be the saver's own checkpoint.",
        "These ops read, write and delete arbitrary paths; they are exempt only where the path is traced to the "
        "saver's filename input (HIGH when run during tf.saved_model.load).",
        ("savedmodel",),
        trustable=True,
    ),
    Rule("SL505", "tf-info", _I, "SavedModel facts.", "Informational.", ("savedmodel",)),
    Rule(
        "SL506",
        "tf-network-op",
        _H,
        "A TensorFlow op that talks to the network or to other tasks (RPC, tf.data service, Send/Recv).",
        "RpcServer/RpcClient, DataServiceDataset*, RegisterDataset* reach network addresses named in the graph; "
        "collectives, TPU and rendezvous ops (MEDIUM) exchange tensors with other devices or tasks. CRITICAL "
        "when the op runs during tf.saved_model.load.",
        ("savedmodel",),
        trustable=True,
    ),
    Rule(
        "SL507",
        "tf-process-op",
        _H,
        "A TensorFlow op that acts on the process: Abort, file-system configuration, sleeps.",
        "Abort terminates the loading process; FileSystemSetConfiguration changes process-wide credentials or "
        "endpoints; Sleep ops (MEDIUM) stall it.",
        ("savedmodel",),
        trustable=True,
    ),
    Rule(
        "SL408",
        "keras-external-file",
        _H,
        "A Keras layer that loads a file outside the scanned model (TFSMLayer, ...).",
        "Its from_config opens a path named in the config (TFSMLayer runs tf.saved_model.load on it): that file "
        "was never scanned. Trust the layer class only after scanning the referenced file yourself.",
        ("keras",),
        trustable=True,
    ),
    # --- onnx ------------------------------------------------------------------------------------------------
    Rule(
        "SL601",
        "onnx-custom-op",
        _M,
        "An ONNX op from a domain (or a reviewed contrib op) that needs native code from outside onnxruntime.",
        "Custom ops run code from a custom-op library (or a precompiled execution-provider binary) that the "
        "model needs registered; that code is not onnxruntime's.",
        ("onnx",),
        trustable=True,
    ),
    Rule(
        "SL602",
        "onnx-unknown-op",
        _M,
        "An op that is not in its standard domain's op set.",
        "Outside the op schemas of onnx and onnxruntime, the op can only be served by registered native code.",
        ("onnx",),
        trustable=True,
    ),
    Rule(
        "SL603",
        "onnx-external-data-escape",
        _H,
        "External tensor data outside the model's folder (absolute path, '..', a symlink out, a device file).",
        "The path-traversal class of ONNX loader CVEs: loading reads (and may expose) arbitrary local files.",
        ("onnx",),
    ),
    Rule(
        "SL604",
        "onnx-external-data-invalid",
        _M,
        "External tensor data that is missing, malformed or out of bounds.",
        "The loader fails or reads past what the model declares; safeload cannot vouch for data it cannot see.",
        ("onnx",),
    ),
    Rule(
        "SL605",
        "onnx-untrusted-library",
        _C,
        "A native library (custom ops, execution provider) not trusted by path and sha256.",
        "Registering a library runs its native code in the process; only libraries listed in "
        "trusted_libraries (path and sha256) may be registered under the hook.",
        ("onnx",),
    ),
    Rule(
        "SL606",
        "onnx-python-op",
        _C,
        "An op that calls Python named by the model (PyOp, PythonOp).",
        "Runs arbitrary Python in the loading process.",
        ("onnx",),
    ),
    Rule("SL607", "onnx-info", _I, "ONNX model facts.", "Informational.", ("onnx",)),
    # --- code-free formats: safetensors, configs and text, data files of other models (SL8xx) ---------------
    Rule(
        "SL801",
        "safetensors-invalid",
        _H,
        "A safetensors file whose header the safetensors library rejects (or too complex to verify).",
        "The header is checked by the rules of the Rust safetensors crate: a length of at most 100,000,000 "
        "bytes inside the file, UTF-8 JSON (nesting under 128, no NaN, no out-of-range numbers), a JSON "
        "object, a str->str __metadata__, known dtypes, non-negative shapes, data_offsets that tile the data "
        "section exactly (no gap, overlap or trailing bytes). No writer produces a file that breaks them: it "
        "is truncated, corrupt or crafted (a polyglot hiding another format), and safeload fails closed.",
        ("safetensors",),
    ),
    Rule(
        "SL810",
        "not-a-model",
        _I,
        "Text content (a JSON or YAML config, a tokenizer, a README): not a model, skipped.",
        "Routed by content: the bytes are text and no pickle, archive or other model format. No model loader "
        "runs code from it; reports list it as skipped (never unsafe, never an alert).",
    ),
    Rule(
        "SL811",
        "model-part",
        _I,
        "Raw external tensor data that an ONNX model beside it names: scanned as part of that model.",
        "ONNX external data is read only by the model that names it, and the model's scan checks every location "
        "(SL603, SL604). Content that looks like any other format is scanned as that format instead.",
    ),
    Rule(
        "SL812",
        "yaml-python-tag",
        _M,
        "A YAML document with a python/ tag (!!python/object/apply, ...).",
        "yaml.unsafe_load and the Loader/UnsafeLoader classes build Python objects from these tags: a tag "
        "can call any importable function. Configs never need one.",
    ),
    # --- integrity (docs/integrity.md) ------------------------------------------------------------------
    Rule(
        "SL701",
        "digest-mismatch",
        _C,
        "The file's sha256 differs from the pinned or locked digest.",
        "The bytes are not the ones that were reviewed: a swapped or tampered file, possibly with a backdoor in "
        "the weights that no scanner can see.",
    ),
    Rule(
        "SL702",
        "not-in-lock",
        _C,
        "The file is not in the lock file.",
        "With a lock, only files recorded in it (with their digest) may be loaded; a new file was never reviewed.",
    ),
    Rule(
        "SL703",
        "locked-file-missing",
        _C,
        "A file recorded in the lock file is missing.",
        "A locked model that disappeared or moved means the tree is not the one that was locked.",
    ),
    Rule(
        "SL704",
        "signature-invalid",
        _C,
        "The model signature does not verify, or does not cover this file.",
        "A signature proves who published the bytes; one that fails means they are not the published ones.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _ALL}
_UNREADABLE_RULES = frozenset({"SL002", "SL005", "SL801", *(f"SL0{n}" for n in range(10, 19))})
_NOT_A_MODEL_RULES = frozenset({"SL003", "SL004", "SL009", "SL810", "SL811"})
# Facts that a file is not a model (text, another model's data): they make a file "skipped" only when nothing
# in the scan was a model (a SavedModel with a vocabulary in assets/ stays a model).
NOT_A_MODEL_FACTS = frozenset({"SL810", "SL811"})
# Not a model, and nothing else to say: a report lists the file as skipped, never unsafe (an LFS pointer, an empty
# file). Unknown content (SL003) named explicitly stays unsafe: it may be a format safeload does not read.
SKIPPED_RULES = frozenset({"SL004", "SL009"})

# What fixes a finding of each rule: shown in refusals and reports, so a Keras Lambda is not told to "prefer
# safetensors". Rules without an entry (facts) need no fix.
_DO_NOT_LOAD = ("Do not load this file. If it is your own, re-save it from a clean environment without that "
                "object (for model weights, a state_dict or safetensors).")
_TRUST = ("If you have reviewed the named code and trust the file's origin, trust that name (trusted=[...]); "
          "otherwise re-save the file without it (a state_dict for torch models, skops for scikit-learn).")
_UNREADABLE = ("The file could not be read completely: it is corrupt, truncated or crafted. Re-download or "
               "re-save it; raise a SAFELOAD_MAX_* limit only for a file you trust that is legitimately this big.")
_REWRITE_ARCHIVE = "Re-save the archive with the framework's own writer: normal writers never produce this."
_TF = ("Re-export the SavedModel without that op (serve only the functions you need); trust the op by name only "
       "after reviewing the graph.")
_FIXES: dict[str, str] = {
    "SL117": ("Do not load this file from a directory holding Python modules you did not install: move the model "
              "elsewhere, or remove the shadowing file if it came with the model (it runs when the load imports "
              "it)."),
    **dict.fromkeys(("SL101", "SL102", "SL103", "SL106", "SL107", "SL109", "SL110", "SL111", "SL113", "SL114"),
                    _DO_NOT_LOAD),
    **dict.fromkeys(("SL104", "SL105", "SL115"), _TRUST),
    **dict.fromkeys(("SL002", "SL005", "SL010", "SL011", "SL012", "SL013", "SL014", "SL015", "SL016", "SL017",
                     "SL018", "SL020", "SL303"), _UNREADABLE),
    "SL119": ("If you installed that plugin on purpose and reviewed it, trust its module.attr (trusted=[...]); "
              "otherwise uninstall the distribution that declares it."),
    "SL118": ("Regenerate the catalogue for the installed versions (python -m safeload.catalog._generate, then "
              "review the diff: docs/catalogue.md), or install the versions it was checked against."),
    "SL003": "safeload cannot scan this content: load it only with a loader for its real format, if you trust it.",
    "SL004": "Run `git lfs pull` (or download the real file): this is only a pointer to the model.",
    "SL009": "Download or save the model again: the file is empty.",
    "SL801": ("Re-download the file or re-save it with safetensors' own writer (save_file); a file that fails these "
              "checks is truncated, corrupt or crafted."),
    "SL812": "Load YAML with yaml.safe_load; do not load this file with an unsafe loader unless you wrote it.",
    "SL007": "Check the path and its permissions; an unreadable file is never treated as clean.",
    "SL008": "The Hugging Face cache links outside itself: delete that cache entry and download it again.",
    **dict.fromkeys(("SL203", "SL204", "SL205", "SL206"), _REWRITE_ARCHIVE),
    "SL201": "Load TorchScript with torch.jit.load only from a source you trust; for weights, save a state_dict.",
    "SL202": "TorchScript code with side effects runs at load: do not load it unless you wrote it.",
    "SL401": ("Rebuild the model in code and load only its weights (model.load_weights), or re-save it with the "
              "Lambda replaced by a custom layer class you trust (then trust that class)."),
    "SL402": ("Trust the named class after reviewing its source (trusted=[...]), or build the model in code and "
              "load only its weights."),
    "SL403": "The config names a dangerous function: do not load this model.",
    "SL404": "The config turns off Keras' own safety checks: do not load this model.",
    "SL405": "The config downloads or loads other files: do not load this model.",
    "SL406": "The embedded torch module is scanned like a torch file: fix what it reports, or do not load.",
    "SL408": ("Scan the file the layer names, make sure it is the one you expect, then trust the layer class; or "
              "load the referenced SavedModel yourself with safeload.tf_saved_model_load."),
    **dict.fromkeys(("SL501", "SL502", "SL503", "SL504", "SL506", "SL507"), _TF),
}


def fix_for(rule_id: str) -> str:
    """What fixes a finding of ``rule_id`` ('' for rules that report facts)."""
    return _FIXES.get(rule_id, "")


def get_rule(rule_id: str) -> Rule:
    """Return the catalogue entry for ``rule_id`` (``KeyError`` if the id is unknown)."""
    return RULES[rule_id]


def catalogue_markdown() -> str:
    """The rule catalogue as Markdown (``docs/rules.md`` is generated from this; a test keeps them equal)."""
    lines = [
        "# Rules",
        "",
        "Generated from `safeload/rules.py`:",
        "`python -c 'import safeload.rules as r; print(r.catalogue_markdown())' > docs/rules.md`.",
        "Rule ids are stable. The severity is the default; argument-aware pickle rules may rank a finding higher or",
        "lower by what the call can reach (see `docs/engine.md`).",
        "",
        "## How pickle names are decided",
        "",
        "The pickle engine records, for every name a file imports, each *use* the load makes of it (called,",
        "instantiated, allocated, called by other code, given state, mutated, hashed, passed to a call). A name",
        "passes only when every use is permitted:",
        "",
        "1. **Denied beats allowed.** The hand denylist (`safeload/catalog/deny.py`, with the hard floor that can",
        "   never be trusted) and the generated deny shards (`safeload/catalog/generated/deny_*.py`: callables whose",
        "   code reaches `eval`, files, processes, the network or loaders, found by an effect scan of the installed",
        "   packages, and the *alias tables*: every re-export of a denied object under another name) are consulted",
        "   first. Some denials cover only some uses (`numpy.memmap` may be allocated as an array subtype, never",
        "   called).",
        "2. **The catalogue permits uses, not names.** Entries are generated from the installed packages",
        "   (`python -m safeload.catalog._generate`, `safeload/catalog/generated/<shard>.py`, with the versions they",
        "   were checked against) and reviewed by hand where the generator cannot decide",
        "   (`safeload/catalog/reviewed.py`, each with its note). See `docs/catalogue.md` for how to update it.",
        "3. **The long tail is decided from installed source**, never imported: a class or function outside the",
        "   catalogue is read with `ast` and its uses are proven inert or not (SL116 LOW when inert, SL104/SL105",
        "   MEDIUM otherwise, with the reason and line). The assumption: the installed environment is trusted, the",
        "   file is not. See `docs/source-analysis.md`.",
        "",
        "A finding is *trustable* when naming its subject in `trusted=[...]` turns it into SL112 (floor names",
        "never are). Each rule says what fixes its findings; refusals and reports repeat it.",
        "",
        "| id | name | default severity | trustable | formats | summary |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.id} | {r.name} | {r.severity.name} | {'yes' if r.trustable else 'no'} | "
        f"{', '.join(r.formats) or 'all'} | {r.summary} |" for r in _ALL
    ]
    lines.append("")
    for r in _ALL:
        lines += [f"## {r.id.lower()}-{r.name}", "", f"**{r.severity.name}** - {r.summary}", "", r.rationale, ""]
        fix = fix_for(r.id)
        if fix:
            lines += [f"*Fix:* {fix}", ""]
    return "\n".join(lines)
