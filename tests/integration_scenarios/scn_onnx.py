"""ONNX and ONNX Runtime under the hook: ``onnx.load``, ``onnxruntime.InferenceSession`` (path and bytes), and
``SessionOptions.register_custom_ops_library`` (a native library whose constructor touches a marker)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess

from _scenario import MODE, OUT, ROOT, benign, finish, malicious, marker, start

LIB_SOURCE = """
#include <stdio.h>
__attribute__((constructor)) static void touch(void) { FILE *f = fopen(MARKER, "w"); if (f) fclose(f); }
"""


def compile_library(name: str, path: str) -> bool:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    source = ROOT / f"{name}.c"
    source.write_text(LIB_SOURCE)
    subprocess.run([cc, "-shared", "-fPIC", f'-DMARKER="{path}"', "-o", str(ROOT / f"{name}.so"), str(source)],
                   check=True)
    return True


def build() -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    opset = [helper.make_opsetid("", 17)]
    good = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w]),
                             opset_imports=opset)
    onnx.save(good, str(ROOT / "good.onnx"))
    (ROOT / "ext").mkdir()
    onnx.save(good, str(ROOT / "ext" / "model.onnx"), save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    evil = helper.make_model(helper.make_graph([helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")], "g",
                                               [x], [y]), opset_imports=[*opset, helper.make_opsetid("com.attacker", 1)])
    onnx.save(evil, str(ROOT / "evil.onnx"))
    (ROOT / "secret.bin").write_bytes(np.arange(6, dtype=np.float32).tobytes())
    (ROOT / "escape").mkdir()
    shutil.copy(ROOT / "ext" / "model.onnx", ROOT / "escape" / "model.onnx")
    m = onnx.load(str(ROOT / "escape" / "model.onnx"), load_external_data=False)
    for entry in m.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../secret.bin"
    onnx.save(m, str(ROOT / "escape" / "model.onnx"))
    libs = {name: compile_library(name, marker(mark)) for name, mark in
            (("evil", "PWNED"), ("control", "CONTROL_lib"), ("trusted", "TRUSTED_lib"))}
    (ROOT / "built.json").write_text(json.dumps({"libs": all(libs.values())}))


def load() -> None:
    start()
    import numpy as np
    import onnx
    import onnxruntime as ort

    built = json.loads((ROOT / "built.json").read_text())
    feed = {"x": np.ones((1, 2), dtype=np.float32)}
    expected = [[3.0, 5.0, 7.0]]
    reference = onnx.load_model_from_string((ROOT / "good.onnx").read_bytes())

    benign("onnx.load", lambda: onnx.load(str(ROOT / "good.onnx")), lambda m: m == reference)
    benign("onnx.load-external", lambda: onnx.load(str(ROOT / "ext" / "model.onnx")),
           lambda m: m.graph.initializer[0].raw_data == np.arange(6, dtype=np.float32).tobytes())
    malicious("onnx.load", lambda: onnx.load(str(ROOT / "evil.onnx")))
    malicious("onnx.load-escape", lambda: onnx.load(str(ROOT / "escape" / "model.onnx")))
    malicious("onnx.load_model_from_string", lambda: onnx.load_model_from_string((ROOT / "evil.onnx").read_bytes()))

    def run(session) -> bool:
        return bool(np.allclose(session.run(None, feed)[0], expected))

    cpu = ["CPUExecutionProvider"]
    benign("InferenceSession", lambda: ort.InferenceSession(str(ROOT / "good.onnx"), providers=cpu), run)
    benign("InferenceSession-external", lambda: ort.InferenceSession(str(ROOT / "ext" / "model.onnx"),
                                                                     providers=cpu), run)
    benign("InferenceSession-bytes", lambda: ort.InferenceSession((ROOT / "good.onnx").read_bytes(), providers=cpu),
           run)
    malicious("InferenceSession", lambda: ort.InferenceSession(str(ROOT / "evil.onnx"), providers=cpu))
    malicious("InferenceSession-escape", lambda: ort.InferenceSession(str(ROOT / "escape" / "model.onnx"),
                                                                      providers=cpu))
    malicious("InferenceSession-bytes", lambda: ort.InferenceSession((ROOT / "evil.onnx").read_bytes(),
                                                                     providers=cpu))
    if built["libs"]:
        malicious("register_custom_ops_library",
                  lambda: ort.SessionOptions().register_custom_ops_library(str(ROOT / "evil.so")))
        digest = hashlib.sha256((ROOT / "trusted.so").read_bytes()).hexdigest()
        os.environ["SAFELOAD_TRUSTED_LIBRARIES"] = f"{digest}  {ROOT / 'trusted.so'}"
        try:  # trusted by path and sha256: registered (it is no custom-op library, so ORT then fails)
            ort.SessionOptions().register_custom_ops_library(str(ROOT / "trusted.so"))
            OUT["trusted-library"] = "registered"
        except Exception as exc:  # noqa: BLE001
            OUT["trusted-library"] = type(exc).__name__
        OUT["trusted-library-ran"] = (ROOT / "TRUSTED_lib").exists()
        (ROOT / "TRUSTED_lib").unlink(missing_ok=True)
        del os.environ["SAFELOAD_TRUSTED_LIBRARIES"]
    if MODE == "install":
        import safeload

        OUT["patched"] = [getattr(f, "_safeload_wrapper", False) for f in (
            ort.InferenceSession.__init__, ort.SessionOptions.register_custom_ops_library, onnx.load)]
        safeload.uninstall()
        OUT["restored"] = not any(getattr(f, "_safeload_wrapper", False) for f in (
            ort.InferenceSession.__init__, ort.SessionOptions.register_custom_ops_library, onnx.load,
            onnx.load_model_from_string))
        if built["libs"]:
            with contextlib.suppress(Exception):  # not a custom-op library: ORT fails after dlopen ran it
                ort.SessionOptions().register_custom_ops_library(str(ROOT / "control.so"))
        OUT["controls"] = sorted(p.name for p in ROOT.glob("CONTROL_*"))
        for p in ROOT.glob("CONTROL_*"):
            p.unlink()
    OUT["libs"] = built["libs"]


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
