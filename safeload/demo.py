"""``python -m safeload.demo``: build a safe and a malicious model, scan both, load one, refuse the other.

The malicious files' payload is harmless: it would only create a marker file in a temporary directory.
The demo checks, at the end, that the marker was never created.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import safeload


class _Payload:
    """Pickles to ``os.system("touch <marker>")``: what a model-file attack looks like, minus the damage."""

    def __init__(self, marker: Path) -> None:
        self.command = f"touch '{marker}'"

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def _section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def _try_load(label: str, load: Any) -> bool:
    try:
        value = load()
    except safeload.UnsafeModelError as err:
        print(f"{label}: REFUSED by safeload\n{err}")
        return False
    print(f"{label}: loaded -> {type(value).__name__}")
    return True


def _torch_files(folder: Path, marker: Path) -> tuple[Path, Path] | None:
    try:
        import torch
    except ImportError:
        print("(torch not installed: skipping the PyTorch part; pip install 'safeload[torch]')")
        return None
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    good = folder / "model.pt"
    torch.save(model.state_dict(), good)
    bad = folder / "trojan.pt"
    torch.save({"state_dict": model.state_dict(), "extra": _Payload(marker)}, bad)
    return good, bad


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="safeload-demo-") as tmp:
        folder = Path(tmp)
        marker = folder / "PWNED"
        good_pkl, bad_pkl = folder / "model.pkl", folder / "trojan.pkl"
        good_pkl.write_bytes(pickle.dumps({"weights": [0.1, 0.2, 0.3], "bias": 0.5}))
        bad_pkl.write_bytes(pickle.dumps({"weights": [0.1, 0.2, 0.3], "bias": _Payload(marker)}))
        pairs = [("pickle", good_pkl, bad_pkl)]
        torch_pair = _torch_files(folder, marker)
        if torch_pair is not None:
            pairs.append(("torch", *torch_pair))

        _section("1. scan (static: nothing in the files is imported or run)")
        for _, good, bad in pairs:
            for path in (good, bad):
                print(safeload.scan(path).summary())

        _section("2. load through the safe loaders")
        ok = True
        for kind, good, bad in pairs:
            if kind == "pickle":
                with open(good, "rb") as handle:
                    ok &= _try_load(good.name, lambda h=handle: safeload.pickle_load(h))
                with open(bad, "rb") as handle:
                    ok &= not _try_load(bad.name, lambda h=handle: safeload.pickle_load(h))
            else:
                ok &= _try_load(good.name, lambda p=good: safeload.torch_load(p, weights_only=False))
                ok &= not _try_load(bad.name, lambda p=bad: safeload.torch_load(p, weights_only=False))

        _section("3. did the payload run?")
        ran = marker.exists()
        print(f"marker file {marker}: {'EXISTS - the payload ran!' if ran else 'absent - nothing ran'}")
        ok &= not ran
    print("\ndemo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
