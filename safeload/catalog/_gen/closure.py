"""The reviewed import closure of every vouched package: which of its modules' imports leave reviewed territory.

A vouch in ``catalog/reviewed.py`` (``IMPORT_REVIEWED``) says that importing the package's modules is benign.
Importing a module also runs every module its top level imports, transitively; that closure may leave the
package (``pandas.plotting._matplotlib`` imports matplotlib, whose import writes its configuration directory).
This generator computes, for every module of every vouched package, the top-level packages its module-level
imports reach transitively, and records the modules whose closure reaches anything outside *reviewed
territory*: the vouched packages, the standard library (minus the modules ``source_tables`` denies) and the
reviewed third-party packages of ``THIRD_PARTY_REVIEWED``. At scan time (``catalog/closure.py``) such a module is
covered by its vouch for its own top level only: what it imports is analysed like any other import.

What counts as a module-level import (the rules the scan-time walk uses, ``source_imports.top_level_imports``):
statements of the top level, of class bodies and of every ``if``/``try``/loop/``with``/``match`` branch, guarded
or not (a guarded import of an absent package is recorded too: it may be installed where the scan runs);
``from pkg import name`` imports the submodule ``pkg.name`` when there is one, ``from pkg import *`` the
submodules ``pkg.__all__`` names; ``if TYPE_CHECKING:`` and ``__main__`` bodies never run on import. Imports in
function bodies run only when the function is called: those of functions the top level calls or decorates with
(same module, any depth) are counted, other function bodies are not (a lazy import elsewhere runs only when
library code is called, which the source analysis checks separately). Compiled modules are opaque (their imports
cannot be read); they are part of their package's vouch.

Invariant: nothing is imported. Modules are enumerated from the package directories, located with
``importlib.machinery.PathFinder`` (``catalog/source_locate.py``) and read with ``ast``.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from safeload.catalog import source_tables as tables
from safeload.catalog.plugins import IMPORT_TIME_PLUGINS
from safeload.catalog.source_imports import (
    called_function_imports,
    dynamic_import_statements,
    import_time_entry_point_lookups,
    package_children,
    star_all,
    top_level_imports,
)
from safeload.catalog.source_locate import ModuleSource, locate_module

_T = TypeVar("_T", list[str], set[str])

__all__ = ["CONDITIONAL_IMPORTS", "STDLIB_IMPORTS_REVIEWED", "THIRD_PARTY_MODULES", "THIRD_PARTY_REVIEWED", "Closure",
           "compute", "render"]

# Third-party packages that vouched packages import at module level, reviewed as benign to import (their top
# level defines classes and functions, builds constants and registers with their own registries; no files,
# processes, network or environment). They extend the territory a vouched module's closure may reach; they are
# not vouched themselves (a file naming one of their modules directly is analysed like any other).
# Each was also imported in a fresh process with HOME, XDG dirs, TMPDIR and the working directory pointed at an
# empty directory: none wrote anything there (matplotlib, the control, creates its configuration directory).
THIRD_PARTY_REVIEWED: dict[str, str] = {
    "dateutil": "python-dateutil (pandas.tseries.holiday): date parsing, relativedelta and tz classes; "
                "time zone files are read when a zone is asked for, not at import",
    "numexpr": "numexpr (pandas.core.computation.expressions, when installed): counts cores (os.sysconf; "
               "`sysctl -n hw.ncpu` on macOS), reads NUMEXPR_*/OMP_NUM_THREADS, sizes its own thread pool, "
               "logs at info level",
    "narwhals": "narwhals (sklearn.utils.validation, lightgbm.sklearn): dataframe compatibility layer; defines "
                "classes, looks backends up in sys.modules when called",
    "tqdm": "tqdm (torch.hub, transformers, huggingface_hub): progress-bar classes; no I/O until a bar is drawn",
    "mpmath": "mpmath (sympy, reached through torch): arbitrary precision; picks its backend (gmpy if installed, "
              "MPMATH_NOGMPY) and builds constants",
    "torchgen": "torchgen, shipped in the torch distribution: the operator schema model (dataclasses, enums)",
    "opt_einsum": "opt_einsum (torch.backends.opt_einsum): contraction-path search; registers its path "
                  "functions in its own table",
    "optree": "optree (torch.utils._cxx_pytree): pytree C extension; registers builtin node types in its own "
              "registry",
    "psutil": "psutil (joblib's loky, transformers): reads /proc (CPU times, feature probes) at import; no writes",
    "cloudpickle": "cloudpickle (joblib's loky): pickler classes; registers nothing global at import",
    "lz4": "lz4 (joblib.compressor): compression C extension; defines functions",
    "wrapt": "wrapt (gensim): decorator and proxy classes (C extension); no global patching at import",
    "jinja2": "jinja2 (torch._inductor, transformers chat templates): template engine; import defines classes "
              "and compiles regexes",
    "markupsafe": "markupsafe (jinja2, pandas Styler): the Markup string class and its C speedups",
    "PIL": "Pillow (transformers image utilities): image classes; format plugins load when an image is opened",
    "filelock": "filelock (huggingface_hub, torch.utils._filelock): lock classes; a lock is taken when called",
    "regex": "regex (transformers tokenization): regular-expression C extension",
    "httpx2": "httpx2 (huggingface_hub): HTTP client classes; no connection until a request is made",
    "httpcore2": "httpcore2 (httpx2): connection-pool classes; no connection until a request is made",
    "h11": "h11 (httpcore2): HTTP/1.1 state machine, pure Python",
    "anyio": "anyio (httpcore2): async backends, imported lazily; defines classes",
    "idna": "idna (httpx2): IDNA codec tables",
    "certifi": "certifi (httpx2): returns the CA bundle path when called",
    "pytz": "pytz (pandas.io._util, through import_optional_dependency): time zone classes; zone files are "
            "read when a zone is asked for",
    # Read in the installed versions below (top-level code of each package __init__ and what it imports at module
    # level) and imported under an audit hook in a fresh process with HOME/XDG/TMPDIR/cwd on an empty directory:
    # no file opened for writing, no directory made, no process, no environment change (exceptions noted).
    "pygments": "Pygments 2.21.0 (rich, IPython): lexer/formatter/style classes; plugins are looked up through "
                "entry points only when a lexer is asked for by name, not at import",
    "attr": "attrs 26.1.0 (as attr; jsonschema/referencing users): the attrs class decorators and validators; "
            "defines classes and functions",
    "boto3": "boto3 1.43.117 (smart_open.s3, transformers' SageMaker helpers): defines the Session factory and a "
             "NullHandler on its logger; no client or credential lookup until a session/client is made "
             "(its import of urllib3, through botocore, makes urllib3's IPv6 probe, see urllib3)",
    "botocore": "botocore 1.43.117 (boto3, smart_open): defines sessions, the service-model loader and regexes; "
                "the data files are read when a client is created, not at import",
    "s3transfer": "s3transfer 0.19.3 (boto3): transfer manager classes; adds a NullHandler to its logger",
    "jmespath": "jmespath 1.1.0 (botocore): JMESPath parser and functions, pure Python",
    "urllib3": "urllib3 2.8.0 (requests, botocore): HTTP connection-pool classes; at import "
               "urllib3.util.connection._has_ipv6('::1') creates an AF_INET6 socket, binds it to the loopback "
               "address on an ephemeral port (no listen, no connect, no traffic) and closes it, to learn whether "
               "IPv6 is usable; no other socket, file or process",
    "six": "six 1.17 (python-dateutil, others): Python 2/3 compatibility shims; installs its own meta-path "
           "importer for the six.moves lazy aliases, which import a stdlib module only when an alias is used",
    "colorlog": "colorlog 6.12.0 (optuna): a coloured logging Formatter class; configures no handler at import",
    "OpenSSL": "pyOpenSSL 26.4.0 (urllib3.contrib, botocore optional TLS): cffi bindings over cryptography's OpenSSL; "
               "defines classes and constants, makes no connection",
    "cryptography": "cryptography 50.0.2 (pyOpenSSL, smart_open/paramiko users): the Rust/OpenSSL bindings; import "
                    "loads the extension and defines classes (the OpenSSL configuration is the library's own "
                    "default); no file written, no network",
    "patsy": "patsy 1.0.3 (statsmodels formulas): formula parser and design-matrix builder, pure Python; its "
             "__init__ re-exports its submodules and adds warnings filters only when PATSY_FORCE_NO_WARNINGS is set "
             "(a test switch of its own)",
    "formulaic": "formulaic 1.2.2 (statsmodels formulas): formula parser and materializer classes; registers its "
                 "materializers in its own registry (interface_meta) and adds one warnings filter (numpy's "
                 "matrix-subclass PendingDeprecationWarning)",
    "interface_meta": "interface_meta 2.0.1 (formulaic): the InterfaceMeta metaclass and decorators, pure Python",
    "pytest": "pytest 9.2.0 (sklearn.utils._testing, imblearn, reached through a guarded `import pytest`): "
              "importing it only defines the pytest namespace from _pytest; plugins are loaded from entry points "
              "in Config._preparse (pytest.main / config parsing) and the assertion-rewrite import hook is "
              "installed by install_importhook (at config time), never at import. Files naming pytest itself "
              "stay refused (source_tables deny table)",
    "_pytest": "_pytest, shipped in the pytest 9.2.0 distribution: the modules pytest/__init__ imports define "
               "classes, fixtures machinery and hook specifications; no hook is called at import",
    "py": "py.py, the shim shipped in the pytest 9.2.0 distribution (its RECORD; _pytest.compat imports it): "
          "imports _pytest._py.error and _pytest._py.path and stores them in sys.modules as py.error and py.path",
    "pluggy": "pluggy 1.7.0 (pytest): plugin-manager and hook-spec classes, pure Python",
    "iniconfig": "iniconfig 2.3.1 (pytest): ini-file parser classes; reads a file only when called",
    "polars": "polars 2.1.0 (statsmodels.tools.data's guarded `import polars`): polars/__init__ sets "
              "os.environ['_RJEM_MALLOC_CONF'] (decay times of polars' own jemalloc, which links it with the "
              "_rjem_ prefix so no other allocator reads the variable; an existing value is kept, appended) - a "
              "reviewed benign environment setting; polars/_plr.py picks the runtime package (POLARS_FORCE_PKG / "
              "POLARS_PREFER_PKG), polars/_cpu_check.py runs CPUID through a small ctypes-mapped code page to "
              "check CPU features, then the Rust extension's init registers polars' startup dependencies and one "
              "atexit closure of its own (native code, not readable here); no file written, no process, no socket "
              "(audit hook)",
    "_polars_runtime_32": "the polars-runtime-32 2.1.0 distribution: the compiled polars runtime polars/_plr "
                          "imports, and its BUILD_FEATURE_FLAGS constant",
    # spaCy 3.8.18's import closure (round 8, branch spacy2). Each read in the installed version (the top level of
    # every module `import spacy, spacy.lang.en` loads from it, listed with ast) and measured: `import spacy,
    # spacy.lang.en` under an audit hook in a fresh process (HOME/XDG_CACHE_HOME/TMPDIR/cwd on empty directories),
    # each event attributed to the innermost site-packages frame. The only effects seen: `uname -p` (h5py, through
    # thinc.compat), the ::1 bind (urllib3, through requests), dill's temp-directory probe and numpy's
    # OPENBLAS_MAIN_FREE putenv/unsetenv pair (both through torch/numpy, vouched); nothing from the packages below,
    # no environment change left, nothing written under HOME, TMPDIR or the working directory.
    "thinc": "thinc 8.3.14 (spacy): model/layer/optimizer classes registered in its own catalogue registries; "
             "thinc.compat probes optional back ends with guarded imports (cupy, torch with "
             "torch.cuda.device_count() and the mps/amp availability checks, tensorflow, mxnet, h5py, os_signpost: "
             "the h5py import runs `uname -p`, see h5py's review); thinc.backends._custom_kernels reads its own "
             "_custom_kernels.cu (read only; compiled only with a CUDA cupy); three module-level NumpyOps(); the "
             "compiled backends (numpy_ops, cblas, linalg, search, sparselinear, premap_ids) import blis, cymem, "
             "preshed, murmurhash. No file written, no process or socket of its own",
    "srsly": "srsly 2.5.6 (spacy, thinc): serialisation helpers over vendored ujson, msgpack (C), ruamel_yaml and "
             "cloudpickle; at import msgpack registers its numpy encoder/decoder in srsly's own catalogue "
             "registries (entry points are read only when a registry is queried), ruamel_yaml registers its "
             "constructors/representers on its own classes and adds two warnings filters ('once' for its own "
             "warning classes), reads RUAMELDEBUG (its debug printer opens /var/tmp/srsly.ruamel_yaml.log only when "
             "called with the variable set), vendored cloudpickle calls platform.python_implementation() (no "
             "process: sys.implementation). Its loaders (pickle_loads, cloudpickle) are denied names "
             "(catalog/deny.py), not covered by this review",
    "catalogue": "catalogue 2.0.10 (spacy, thinc, srsly): function registries; at import it calls "
                 "importlib.metadata.entry_points(), reading the installed distributions' entry_points.txt files "
                 "(read only; no entry point is loaded until a registry is asked for a name); the vendored "
                 "_importlib_metadata (imports zipp) is used only on Python < 3.8",
    "confection": "confection 1.3.4 (spacy, thinc): the Config class and its parser (configparser), registries "
                  "and pydantic-based validation; import defines classes and compiles regexes",
    "wasabi": "wasabi 1.1.3 (spacy, thinc, weasel): console printing helpers; the module-level Printer() reads "
              "WASABI_* / ANSI_COLORS_DISABLED environment variables and sys.stdout's encoding, and imports "
              "colorama when installed (colorama is then outside reviewed territory: not covered); prints nothing "
              "at import",
    "weasel": "weasel 1.0.1 (spacy.cli): the project CLI; import builds typer apps and registers its commands "
              "(default arguments call Path.cwd(): reads the working directory), adds a StreamHandler to its own "
              "'weasel' logger; weasel.cli.remote_storage imports the stdlib site module (see "
              "STDLIB_IMPORTS_REVIEWED) and weasel.cli.assets imports httpx. No command runs at import",
    "typer": "typer 0.29.2 (spacy.cli, weasel): CLI classes over its vendored click (typer._click); reads "
             "TYPER_USE_RICH and the other TYPER_* variables; sys.platform checks, cached stream accessors",
    "click": "click 8.5.1 (typer, spacy.cli): CLI classes; sys.platform checks, lazily cached stream accessors "
             "(no stream opened at import), parameter-type singletons",
    "shellingham": "shellingham 1.5.4 (typer): shell detection; reads /proc or runs ps only when detect_shell() "
                   "is called, not at import",
    "annotated_doc": "annotated-doc 0.0.7 (typer): the Doc annotation class, pure Python",
    "pydantic": "pydantic 2.14.4 (confection, thinc, spacy, weasel): model/validator classes; at import it checks "
                "pydantic_core's version (_ensure_pydantic_core_version: string comparison), builds its config "
                "defaults and core schemas, installs module __getattr__ migration shims (pydantic.v1 names). "
                "The first model class built (spacy.schemas builds several at import) calls "
                "pydantic.plugin._loader.get_plugins(), which imports every installed `pydantic` entry-point "
                "plugin (none installed where this was read; PYDANTIC_DISABLE_PLUGINS switches it off): a plugin "
                "is installed code this review did not read and the closure table cannot see (limit noted in "
                "docs/false-positives.md). No file, process or network of its own",
    "pydantic_core": "pydantic_core 2.50.5 (pydantic): the Rust validator extension and the core_schema "
                     "TypedDicts; defines classes",
    "annotated_types": "annotated-types 0.8.0 (pydantic): constraint marker dataclasses, pure Python",
    "typing_inspection": "typing-inspection 0.4.5 (pydantic): typing introspection; typing_objects builds its "
                         "identity/isinstance check functions with exec() of fixed template text (its own code "
                         "generation, no input from outside)",
    "requests": "requests 2.34.2 (spacy.cli.download/validate): HTTP client classes; at import it checks "
                "urllib3's and charset_normalizer's versions, adds warnings filters (ignore urllib3's "
                "DependencyWarning, default FileModeWarning), a NullHandler on its logger, and aliases "
                "urllib3/idna/charset_normalizer under requests.packages in sys.modules; no connection until a "
                "request is made (the import of urllib3 makes urllib3's IPv6 probe, see urllib3)",
    "charset_normalizer": "charset-normalizer 3.5.3 (requests): encoding detection tables and compiled helpers "
                          "(cd, md); NullHandler on its logger, a StreamHandler object created but not attached",
    "httpx": "httpx 0.28.1 (weasel.cli.assets): HTTP client classes; sets __module__ on its public names, builds "
             "default timeout/limits objects and its decoder table (zstandard, brotli when installed); no "
             "connection until a request is made",
    "zstandard": "zstandard 0.25.0 (httpx decoders): Zstandard C extension; reads "
                 "PYTHON_ZSTANDARD_IMPORT_POLICY to choose its back end; defines classes",
    "zipp": "zipp 4.1.2 (catalogue's vendored importlib_metadata, used on Python < 3.8 only): zipfile.Path "
            "classes, pure Python; reads an archive only when called",
    "blis": "blis 1.3.4 (thinc's compiled ops): BLAS kernels (C extension); blis/__init__ calls blis.cy.init(), "
            "which sets up the library's own global context (CPU feature detection in native code); no file, "
            "process or environment change measured",
    "cymem": "cymem 2.0.16 (spacy, thinc, preshed): the Pool memory allocator (Cython extension)",
    "preshed": "preshed 3.0.15 (spacy, thinc): pre-hashed hash tables and Bloom filter (Cython extensions)",
    "murmurhash": "murmurhash 1.0.16 (spacy, thinc): MurmurHash3 (Cython extension)",
    # Read for the matplotlib 3.11.2 import review (catalog/reviewed.IMPORT_REVIEWS, lead's decision of round 8):
    # what `import matplotlib.pyplot` imports from them, under an audit hook in a fresh process with an empty HOME
    # (tests/test_h5py_matplotlib_reviews.py): no file written, no process, no socket of their own.
    "pyparsing": "pyparsing 3.3.3 (matplotlib._fontconfig_pattern, mathtext): parser-combinator classes, pure "
                 "Python; its top level builds its own grammar constants (pyparsing.common) and unicode ranges",
    "cycler": "cycler 0.12.1 (matplotlib.rcsetup): the Cycler class, one pure-Python module",
    "kiwisolver": "kiwisolver 1.5.1 (matplotlib._layoutgrid): the Cassowary constraint solver; kiwisolver/__init__ "
                  "re-exports its compiled _cext classes and defines its exception classes",
    "fontTools": "fontTools 4.68.0 (matplotlib.backends.backend_agg/_afm users through fontTools.agl): "
                 "fontTools/__init__ creates its logger (no handler configured: configLogger runs only when "
                 "called), agl/misc.textTools build glyph-name tables",
    "mpl_toolkits": "mpl_toolkits.mplot3d, shipped in the matplotlib 3.11.2 distribution (matplotlib.projections "
                    "imports it): Axes3D and the 3-D artist classes; registers the '3d' projection in "
                    "matplotlib's own projection registry",
    # Read for the pint 0.25.3 import review (catalog/reviewed.IMPORT_REVIEWS["pint"], issue 14): what `import pint`
    # loads from them when dask is installed (pint.compat: `from dask.base import ...`), each module's top level and
    # the functions it calls; only those modules are territory (THIRD_PARTY_MODULES). Measured under an audit hook in
    # a fresh process (HOME, cwd on empty directories; tests/test_pint_import_review.py): no file written, no
    # directory made, no process, no socket, no environment change of their own.
    "dask": "dask 2026.8.0 (pint.compat, when dask is installed; 26 modules): dask.config reads YAML configuration "
            "(yaml.safe_load: data only) from /etc/dask (or $DASK_ROOT_CONFIG), <sys.prefix>/etc/dask, "
            "~/.config/dask and $DASK_CONFIG, and DASK_* environment variables (ast.literal_eval of each value, "
            "DASK_INTERNAL_INHERIT_CONFIG as base64 JSON), then its own dask.yaml defaults: environment "
            "settings, no code, never the working directory; dask.system counts CPUs (os.sched_getaffinity, "
            "psutil, cgroup files read); dask.multiprocessing registers a copyreg reducer for method_descriptor "
            "(getattr(cls, name): used when pickling, never when loading) and calls tblib.pickling_support.install() "
            "(copyreg reducers for tracebacks and every exception class: pickling only); dask.hashing imports "
            "cityhash, xxhash and mmh3 when installed (outside territory: recorded as leaving); dask.widgets "
            "builds a template path (jinja2 loads templates when called); dask.sizeof loads and calls every "
            "installed dask.sizeof entry point (catalog/plugins.IMPORT_TIME_PLUGINS: SL119 per declared plugin, "
            "its modules walked by the shadow check); the other modules define classes, functions and dispatch "
            "tables (normalize_token/sizeof register_lazy: imported when an object of that library is met)",
    "toolz": "toolz 1.2.0 (dask; 13 modules): pure-Python functional helpers; toolz/__init__ calls "
             "functoolz._sigs.create_signature_registry(), which import_module()s 'toolz' and 'toolz.functoolz' "
             "(its own modules) and records signatures of builtins/functools/itertools/operator functions in a dict",
    "tlz": "tlz (the toolz 1.2.0 distribution; dask): tlz/_build_tlz.py appends its TlzLoader to sys.meta_path "
           "(it finds only tlz.* names) and builds tlz from cytoolz when installed, else toolz: "
           "import_module('cytoolz' + ...) is a computed import (source_imports.REVIEWED_DYNAMIC_IMPORTS lists "
           "cytoolz, outside territory)",
    "tblib": "tblib 3.2.2 (dask.multiprocessing): traceback serialisation; importing defines classes and a regex; "
             "pickling_support.install() is called by dask (see dask); unpickle_traceback/unpickle_exception are "
             "names a file could give and are decided per name like any other",
    "importlib_metadata": "importlib-metadata 9.1.0 (dask._compatibility on Python < 3.12; 11 modules): the "
                          "metadata API; the @install class decorator appends its MetadataPathFinder to "
                          "sys.meta_path (a NullFinder: find_spec returns None, it only finds distributions) "
                          "and deletes find_distributions from the stdlib PathFinder (the backport's finder "
                          "reads the same sys.path entries); imports zipp (THIRD_PARTY_REVIEWED)",
    "platformdirs": "platformdirs 4.14.8 (pint.facets.plain.registry; 7 modules): per-platform directory classes; "
                    "the import picks the Unix class (sys.platform, an Android check reading sys.path and "
                    "environment variables); a directory is computed (never made) when a property is read",
    "flexcache": "flexcache 0.3 (pint): cache header dataclasses; reads its own distribution's version and "
                 "platform.system()/python_implementation()/python_version() (no process on Linux: uname() "
                 "through os.uname)",
    "flexparser": "flexparser 0.4 (pint): parser classes; reads its own distribution's version, picks a hashlib "
                  "algorithm by hashing a constant string, defines its logger",
}

#: THIRD_PARTY_REVIEWED packages whose review read some of their modules only (those a reviewed import loads):
#: their other modules are outside reviewed territory (the table records them as leaving, ``<top>.<sub>``).
THIRD_PARTY_MODULES: dict[str, frozenset[str]] = {
    "dask": frozenset(
        "dask dask._compatibility dask._expr dask._task_spec dask._version dask.base dask.callbacks dask.config "
        "dask.context dask.core dask.datasets dask.delayed dask.hashing dask.highlevelgraph dask.local "
        "dask.multiprocessing dask.optimization dask.order dask.sizeof dask.system dask.threaded dask.tokenize "
        "dask.typing dask.utils dask.widgets dask.widgets.widgets".split()),
    "toolz": frozenset(
        "toolz toolz._signatures toolz.curried toolz.curried.exceptions toolz.curried.operator toolz.dicttoolz "
        "toolz.functoolz toolz.itertoolz toolz.recipes toolz.sandbox toolz.sandbox.core toolz.sandbox.parallel "
        "toolz.utils".split()),
    "tlz": frozenset("tlz tlz._build_tlz tlz._signatures tlz.dicttoolz tlz.functoolz tlz.itertoolz tlz.recipes "
                     "tlz.utils".split()),
    "tblib": frozenset({"tblib", "tblib.pickling_support"}),
    "importlib_metadata": frozenset(
        "importlib_metadata importlib_metadata._adapters importlib_metadata._collections importlib_metadata._compat "
        "importlib_metadata._context importlib_metadata._functools importlib_metadata._itertools "
        "importlib_metadata._meta importlib_metadata._text importlib_metadata.compat "
        "importlib_metadata.compat.py311".split()),
    # with the platform modules platformdirs/__init__ imports instead of unix on Android (an environment check:
    # ANDROID_DATA/ANDROID_ROOT set, no SHELL/PREFIX), Windows, macOS and iOS: each read (classes, regexes, and on
    # Windows only, windows._pick_get_win_folder() choosing ctypes or winreg), none imported on Linux
    "platformdirs": frozenset(
        "platformdirs platformdirs._paths platformdirs._runtime platformdirs._xdg platformdirs.api platformdirs.unix "
        "platformdirs.version platformdirs._android platformdirs.android platformdirs.ios platformdirs.macos "
        "platformdirs.windows".split()),
    "flexcache": frozenset({"flexcache", "flexcache.flexcache"}),
    "flexparser": frozenset({"flexparser", "flexparser.flexparser"}),
}

#: Standard-library modules a deny pattern of ``source_tables`` matches (never library code when a file names them)
#: whose *import* by a module of the closure was reviewed as running nothing: the closure walk treats them as
#: reviewed territory. A file naming one of them, or one of their functions, is decided as before (denied).
STDLIB_IMPORTS_REVIEWED: dict[str, str] = {
    "site": "CPython 3.11 site.py (sha256 6803396ba0719e4d1d6ce9351f09f0bca11ab8e9c4efe0f935f598da8e8b903e): the "
            "interpreter imports it at start-up (unless -S), so a later `import site` is a sys.modules lookup; "
            "imported for the first time (under -S), its top level defines functions and runs main() only "
            "`if not sys.flags.no_site`, which -S sets. Imported by weasel.cli.remote_storage (reads "
            "site.getsitepackages() when a remote-storage command hashes the environment, not at import)",
}

#: Imports a module makes only under a runtime condition the scanned file cannot bring about, pinned to the
#: SHA-256 of the module's file as read: while the installed file hashes differently, those imports are ordinary
#: (unconditional) edges. Module -> (sha256 of the file, the modules imported only under the condition, the
#: conditions (any one true makes the imports happen; each a module that must be importable where the scan
#: runs, or ``sys.platform:<name>``), the reviewer's note). The closure table marks an outside package reached
#: only through such an import ``?<module>:<package>``; at scan time (``catalog/closure.py``,
#: ``catalog/closure_conditions.py``) it counts only while one of the module's conditions holds.
CONDITIONAL_IMPORTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "tqdm.autonotebook": (
        "da9360182243b1eb0d372627992bdef013502e2192828f7b4ac3e83170ab3514",
        ("tqdm.notebook",),
        ("ipykernel", "sys.platform:emscripten"),
        "tqdm 4.70.1 tqdm/autonotebook.py: `from .notebook import ...` (which imports ipywidgets and IPython) "
        "runs only when 'ipykernel.zmqshell' is in sys.modules (a Jupyter kernel: ipykernel must be installed) "
        "or 'IPython.utils._process_emscripten' is (IPython/utils/process.py imports that module only when "
        "sys.platform == 'emscripten'); otherwise the try raises ImportError('console') first and only "
        "`from .std import tqdm, trange` runs",
    ),
}


@dataclass
class Closure:
    """The generator's result: per vouched package its versions and the modules whose closure leaves."""

    packages: tuple[str, ...]
    territory: frozenset[str]
    #: top-level package -> {distribution: version} and the names of their ``.dist-info`` directories
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    dist_info: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: module of a vouched package -> the outside top-level packages (or denied modules) its closure reaches
    leaves: dict[str, tuple[str, ...]] = field(default_factory=dict)
    modules: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)
    #: module -> what it imports from outside reviewed territory itself (for the generator's log and review)
    direct: dict[str, set[str]] = field(default_factory=dict)
    #: module -> the modules of reviewed territory it imports directly (for the generator's review)
    edges: dict[str, list[str]] = field(default_factory=dict)
    #: the modules whose CONDITIONAL_IMPORTS pin matched the installed file
    conditional: set[str] = field(default_factory=set)
    #: module -> (line, group) of the entry-point lookups its import makes (for the review of catalog/plugins.py)
    entry_point_lookups: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)


class _Reader:
    """Locates and parses modules under one search path (``None``: ``sys.path``), each once."""

    def __init__(self, search_path: Sequence[str] | None, territory: frozenset[str] = frozenset()) -> None:
        self.search_path = search_path
        self.territory = territory
        self._located: dict[str, ModuleSource] = {}
        self.entry_point_lookups: dict[str, list[tuple[int, str | None]]] = {}

    def locate(self, name: str) -> ModuleSource:
        found = self._located.get(name)
        if found is None:
            found = self._located[name] = locate_module(name, self.search_path)
        return found

    def is_package(self, name: str) -> bool:
        if self._outside_top(name):  # may be a package where the scan runs: see is_module
            return True
        return self.locate(name).is_package

    def _outside_top(self, name: str) -> bool:
        return "." not in name and name not in self.territory and name not in sys.stdlib_module_names

    def is_module(self, name: str) -> bool:
        """Whether ``name`` is a module, and for ``<outside package>.<name>`` (``from backports import zstd``)
        always: whether it is one is decided where the scan runs (catalog/closure._present), because a namespace
        package holds nothing itself and the submodule may be installed there and not here."""
        top, _, rest = name.partition(".")
        if rest and "." not in rest and self._outside_top(top):
            return True
        return self.locate(name).kind != "missing"

    def star(self, base: str) -> list[str]:
        """Submodules ``from base import *`` imports (``source_imports.star_all``): none without ``__all__``,
        those a literal ``__all__`` names, every direct submodule when it is grown or computed (an
        over-approximation that can only mark more modules as leaving)."""
        found = self.locate(base)
        if not found.is_package:
            return []
        tree = _parse(found.path) if found.path else None
        kind, names = star_all(tree) if tree is not None else ("computed", [])
        if kind in ("extended", "computed"):
            names = [child for child, _kind in package_children(found.search_locations)]
        return [f"{base}.{n}" for n in names if self.is_module(f"{base}.{n}")]

    def imports_of(self, name: str, found: ModuleSource) -> list[str] | None:
        """The dotted modules ``name``'s import runs directly (None when its source cannot be read)."""
        tree = _parse(found.path) if found.path else None
        if tree is None:
            return None
        lookups = import_time_entry_point_lookups(tree)
        if lookups:
            self.entry_point_lookups[name] = lookups
        body = [*tree.body, *called_function_imports(tree), *dynamic_import_statements(name, wildcards=True)]
        found_imports = top_level_imports(body, name, found.is_package, self.is_package, self.is_module, self.star)
        out: list[str] = []
        for dotted, _guarded in found_imports:
            parts = dotted.split(".")
            out.extend(".".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        return list(dict.fromkeys(out))


def _parse(path: str) -> ast.Module | None:
    try:
        with open(path, "rb") as handle:
            return ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None


def _outside(name: str, territory: frozenset[str]) -> str | None:
    """What importing ``name`` (as a dependency) brings in from outside reviewed territory, else None."""
    top = name.split(".", 1)[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        if name in STDLIB_IMPORTS_REVIEWED:
            return None
        return name if tables.denied_module_reason(name) is not None else None
    if top in territory:
        reviewed = THIRD_PARTY_MODULES.get(top)
        return None if reviewed is None or name in reviewed else name  # a module the review did not read
    # the submodule too: a namespace package (``backports``) runs nothing itself, and whether ``backports.zstd``
    # is installed decides (catalog/closure._present)
    return ".".join(name.split(".", 2)[:2])


def _conditional(name: str, path: str) -> frozenset[str]:
    """The modules ``name`` imports only under its reviewed condition, while its file hashes as reviewed."""
    entry = CONDITIONAL_IMPORTS.get(name)
    if entry is None:
        return frozenset()
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return frozenset()
    return frozenset(entry[1]) if digest == entry[0] else frozenset()


def _merge(first: dict[str, _T], second: dict[str, _T]) -> dict[str, _T]:
    out: dict[str, Any] = {k: list(v) if isinstance(v, list) else set(v) for k, v in first.items()}
    for key, value in second.items():
        if isinstance(value, list):
            out.setdefault(key, []).extend(value)
        else:
            out.setdefault(key, set()).update(value)
    return out


def _reach(edges: dict[str, list[str]], direct: dict[str, set[str]]) -> dict[str, set[str]]:
    """Module -> the outside names its closure reaches: every importer, transitively, of a module importing one."""
    reverse: dict[str, set[str]] = {}
    for src, dsts in edges.items():
        for dst in dsts:
            reverse.setdefault(dst, set()).add(src)
    origins: dict[str, list[str]] = {}
    for origin, outs in direct.items():
        for out in outs:
            origins.setdefault(out, []).append(origin)
    reached: dict[str, set[str]] = {}
    for out, starts in origins.items():
        todo = list(starts)
        marked = set(starts)
        while todo:
            node = todo.pop()
            reached.setdefault(node, set()).add(out)
            for parent in reverse.get(node, ()):
                if parent not in marked:
                    marked.add(parent)
                    todo.append(parent)
    return reached


def compute(packages: Iterable[str], extra: Iterable[str] = (), search_path: Sequence[str] | None = None) -> Closure:
    """The closure table for ``packages`` (vouched) with ``extra`` (reviewed third-party) as more territory."""
    vouched = tuple(sorted(set(packages)))
    territory = frozenset(vouched) | frozenset(extra)
    reader = _Reader(search_path, territory)
    result = Closure(vouched, territory)
    # module -> the modules it imports directly; out -> direct outside names
    edges: dict[str, list[str]] = {}
    direct_out: dict[str, set[str]] = {}
    queue: list[str] = []
    for top in vouched:
        found = reader.locate(top)
        if found.kind == "missing":
            continue
        queue.append(top)
        stack = [found]
        while stack:
            package = stack.pop()
            for child, kind in package_children(package.search_locations):
                full = f"{package.name}.{child}"
                queue.append(full)
                if kind == "package":
                    sub = reader.locate(full)
                    if sub.is_package:
                        stack.append(sub)
    seen: set[str] = set()
    # conditional import edges (CONDITIONAL_IMPORTS, while the pin matches): module -> {dep}; outside packages
    # a module imports directly only under its condition
    cond_edges: dict[str, list[str]] = {}
    cond_out: dict[str, set[str]] = {}
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        found = reader.locate(tables.MODULE_ALIASES.get(name, name))
        if found.kind in ("missing", "namespace", "compiled", "builtin") or found.path is None:
            edges[name] = []  # nothing to read: absent, a directory, or opaque compiled code of its package
            continue
        imports = reader.imports_of(name, found)
        if imports is None:
            result.unreadable[name] = "source cannot be parsed"
            direct_out[name] = {"<unreadable source>"}
            edges[name] = []
            continue
        conditional = _conditional(name, found.path)
        if conditional:
            result.conditional.add(name)
        edges[name] = []
        if name in IMPORT_TIME_PLUGINS:  # its import loads and calls these groups' entry points
            direct_out.setdefault(name, set()).update(f"!{group}" for group in IMPORT_TIME_PLUGINS[name][0])
        for dep in imports:
            outside = _outside(dep, territory)
            if outside is not None:
                (cond_out if dep in conditional else direct_out).setdefault(name, set()).add(outside)
            elif dep.split(".", 1)[0] in territory:
                (cond_edges.setdefault(name, []) if dep in conditional else edges[name]).append(dep)
                queue.append(dep)
    result.modules = len(edges)
    result.entry_point_lookups = dict(sorted(reader.entry_point_lookups.items()))
    result.direct = direct_out
    result.edges = edges
    reached = _reach(edges, direct_out)
    everything = _reach(_merge(edges, cond_edges), _merge(direct_out, cond_out))
    explained: dict[str, set[str]] = {}
    for module in sorted(set(cond_edges) | set(cond_out)):  # one condition at a time
        with_one = _reach(_merge(edges, {module: cond_edges.get(module, [])}),
                          _merge(direct_out, {module: cond_out.get(module, set())}))
        for node, outs in with_one.items():
            extra = outs - reached.get(node, set())
            if extra:
                reached.setdefault(node, set()).update(f"?{module}:{o}" for o in extra)
                explained.setdefault(node, set()).update(extra)
    for node, outs in everything.items():  # reached only through two conditions at once: unconditional
        rest = outs - {o for o in reached.get(node, set()) if not o.startswith("?")} - explained.get(node, set())
        if rest:
            reached.setdefault(node, set()).update(rest)
    # test and script modules are never covered at scan time (``catalog/closure.py``): no entries for them
    result.leaves = {name: tuple(sorted(outs)) for name, outs in sorted(reached.items())
                     if name.split(".", 1)[0] in vouched and tables.denied_module_reason(name) is None}
    return result


def render(closure: Closure) -> str:
    """``generated/closure.py``: compact literals, imported lazily at scan time by ``catalog/closure.py``."""
    # outside names are few: number them so each leaving module costs one small tuple of ints
    names = sorted({o for outs in closure.leaves.values() for o in outs})
    index = {n: i for i, n in enumerate(names)}
    checked = {d: v for dists in closure.versions.values() for d, v in sorted(dists.items())}
    lines = ['"""Generated by ``python -m safeload.catalog._generate``: do not edit.\n\n'
             "The reviewed import closure of every vouched package (``catalog/_gen/closure.py``): the modules whose\n"
             "module-level imports reach, transitively, a package outside reviewed territory.\n"
             '"""\n# ruff: noqa: E501\n\nfrom __future__ import annotations\n\n',
             f"# {closure.modules} modules read; {len(closure.leaves)} leave reviewed territory\n",
             f"CHECKED_AGAINST: dict[str, str] = {checked!r}\n\n",
             f"PACKAGES: frozenset[str] = frozenset({list(closure.packages)!r})\n\n",
             "# top-level package -> the distribution metadata directories beside it the table was computed from\n",
             "DIST_INFO: dict[str, tuple[str, ...]] = {\n"]
    lines += [f"    {top!r}: {names!r},\n" for top, names in sorted(closure.dist_info.items())]
    lines.append("}\n\n# module -> the conditions under which its reviewed conditional imports run (any one true;\n"
                 "# _gen/closure.CONDITIONAL_IMPORTS): OUTSIDE names '?<module>:<package>' count while one holds\n")
    conditions = {m: CONDITIONAL_IMPORTS[m][2] for m in sorted(closure.conditional)}
    lines.append(f"CONDITIONS: dict[str, tuple[str, ...]] = {conditions!r}\n\n")
    lines.append("# modules of reviewed territory whose import looks entry points up (line, literal group or None):\n"
                 "# each reviewed in catalog/plugins.ENTRY_POINT_LOOKUPS_REVIEWED (tests/test_import_time_plugins)\n")
    lookups = {m: tuple(sites) for m, sites in sorted(closure.entry_point_lookups.items())}
    lines.append(f"ENTRY_POINT_LOOKUPS: dict[str, tuple[tuple[int, str | None], ...]] = {lookups!r}\n\n")
    lines.append("# what leaving modules reach: an outside top-level package, a denied module, <...> unreadable\n"
                 "# source, or !<group>: entry points the import loads and calls (catalog/plugins.py)\n")
    lines.append(f"OUTSIDE: tuple[str, ...] = {tuple(names)!r}\n\n")
    groups = sorted({tuple(index[o] for o in outs) for outs in closure.leaves.values()})
    group = {g: i for i, g in enumerate(groups)}
    lines.append("# the distinct sets of OUTSIDE indexes a closure reaches\n")
    lines.append(f"REACHES: tuple[tuple[int, ...], ...] = {tuple(groups)!r}\n\n")
    lines.append("# module -> index into REACHES\nLEAVES: dict[str, int] = {\n")
    lines += [f"    {name!r}: {group[tuple(index[o] for o in outs)]},\n"
              for name, outs in sorted(closure.leaves.items())]
    lines.append("}\n")
    return "".join(lines)


#: A package with at most this many modules whose closure loads plugins lists them; a package with more is listed
#: whole (all its modules are checked, an over-approximation that costs only where a plugin is declared).
_FEW_PLUGIN_MODULES = 32


def render_plugin_reach(closure: Closure) -> str:
    """``generated/plugin_reach.py``: which modules' import closure reaches an entry-point group of
    ``catalog/plugins.IMPORT_TIME_PLUGINS`` (a ``!<group>`` in the table), compact enough to load on every first
    scan that names a third-party module (the full table is read only when a plugin is declared)."""
    reaching: dict[str, set[str]] = {}
    for name, outs in closure.leaves.items():
        if any(o.rpartition(":")[2].startswith("!") if o.startswith("?") else o.startswith("!") for o in outs):
            reaching.setdefault(name.split(".", 1)[0], set()).add(name)
    whole = sorted({*IMPORT_TIME_PLUGINS, *(top for top, mods in reaching.items() if len(mods) > _FEW_PLUGIN_MODULES)})
    few = sorted(m for top, mods in reaching.items() if len(mods) <= _FEW_PLUGIN_MODULES and top not in whole
                 for m in mods)
    checked = dict(sorted({d: v for dists in closure.versions.values() for d, v in dists.items()}.items()))
    return ('"""Generated by ``python -m safeload.catalog._generate``: do not edit.\n\n'
            "Which modules' import closure reaches a package whose import loads entry-point plugins\n"
            "(``catalog/plugins.py``): every module of ``PACKAGES``, and the modules in ``MODULES``.\n"
            '"""\n# ruff: noqa: E501\n\nfrom __future__ import annotations\n\n'
            f"CHECKED_AGAINST: dict[str, str] = {checked!r}\n\n"
            f"PACKAGES: frozenset[str] = frozenset({whole!r})\n\n"
            f"MODULES: frozenset[str] = frozenset({few!r})\n")
