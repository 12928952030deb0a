"""OpenSSF model signing: real signatures made with ``model-signing`` at test time, verified on load.

Keys and a throw-away certificate authority are generated with ``cryptography`` for each test session; model
files are real (torch zip, joblib, a Keras directory). Checked: a valid signature loads; one flipped byte in a
weights file refuses; a file added to a signed directory refuses; a wrong key or CA refuses; and nothing
reaches the real loader when a check fails.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import os
import pickle
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload import cli
from safeload.loaders._common import ORIGINALS, real_loader

model_signing = pytest.importorskip("model_signing")
pytest.importorskip("OpenSSL")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


@dataclass
class Keys:
    private: Path
    public: Path
    other_public: Path
    ca: Path
    other_ca: Path
    leaf_key: Path
    leaf_cert: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _write_public(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def _cert(subject: str, public: Any, issuer: str, signer: Any, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    root = tmp_path_factory.mktemp("keys")
    signer = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP384R1())
    other_ca_key = ec.generate_private_key(ec.SECP384R1())
    leaf = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test root CA", ca_key.public_key(), "test root CA", ca_key, ca=True)
    other_ca = _cert("other root CA", other_ca_key.public_key(), "other root CA", other_ca_key, ca=True)
    leaf_cert = _cert("model publisher", leaf.public_key(), "test root CA", ca_key, ca=False)
    (root / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (root / "other-ca.pem").write_bytes(other_ca.public_bytes(serialization.Encoding.PEM))
    (root / "leaf.pem").write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    return Keys(private=_write_key(signer, root / "signer.key"), public=_write_public(signer, root / "signer.pub"),
                other_public=_write_public(other, root / "other.pub"), ca=root / "ca.pem",
                other_ca=root / "other-ca.pem", leaf_key=_write_key(leaf, root / "leaf.key"),
                leaf_cert=root / "leaf.pem")


def sign_with_key(model: Path, signature: Path, keys: Keys) -> Path:
    model_signing.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(model, signature)
    return signature


def sign_with_certificate(model: Path, signature: Path, keys: Keys) -> Path:
    model_signing.signing.Config().use_certificate_signer(
        private_key=keys.leaf_key, signing_certificate=keys.leaf_cert, certificate_chain=[keys.ca],
    ).sign(model, signature)
    return signature


@pytest.fixture
def spy() -> Iterator[Any]:
    saved = dict(ORIGINALS)

    def install(module: str, attr: str) -> list[Any]:
        real = real_loader(module, attr)
        calls: list[Any] = []

        @functools.wraps(real)
        def recording(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return real(*args, **kwargs)

        ORIGINALS[(module, attr)] = recording
        return calls

    yield install
    ORIGINALS.clear()
    ORIGINALS.update(saved)


@pytest.fixture
def torch_model(tmp_path: Path) -> Path:
    torch = pytest.importorskip("torch")
    path = tmp_path / "net.pt"
    torch.save({"layer.weight": torch.arange(4096, dtype=torch.float32)}, path)
    return path


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- single files -------------------------------------------------------------------------------------------
def test_key_signed_torch_file_loads(torch_model: Path, keys: Keys) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    state = safeload.torch_load(torch_model, signature=sig, public_key=keys.public)
    assert state["layer.weight"][4095].item() == 4095.0
    result = safeload.scan(torch_model, signature=sig, public_key=keys.public)
    assert result.integrity is not None
    assert result.integrity["signature_checked"] is True
    assert result.integrity["signature_method"] == "key"


def test_one_flipped_weight_byte_refuses(torch_model: Path, keys: Keys, spy: Any) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    flip_byte(torch_model, torch_model.stat().st_size // 2)  # inside the tensor data: no scanner sees it
    assert safeload.scan(torch_model).is_safe()
    calls = spy("torch", "load")
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.torch_load(torch_model, signature=sig, public_key=keys.public)
    assert calls == []
    assert info.value.check == "signature"
    assert info.value.expected and info.value.actual and info.value.expected != info.value.actual


def test_wrong_key_refuses(torch_model: Path, keys: Keys, spy: Any) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    calls = spy("torch", "load")
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.torch_load(torch_model, signature=sig, public_key=keys.other_public)
    assert calls == []
    assert "did not verify" in info.value.reason


def test_tampered_signature_refuses(torch_model: Path, keys: Keys) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    bundle = json.loads(sig.read_text())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["predicate"]["resources"][0]["digest"] = "0" * 64  # claim other bytes, keep the signature
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    sig.write_text(json.dumps(bundle))
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(torch_model, signature=sig, public_key=keys.public)
    sig.write_text("{}")
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(torch_model, signature=sig, public_key=keys.public)


def test_certificate_chain_verification(torch_model: Path, keys: Keys, spy: Any) -> None:
    sig = sign_with_certificate(torch_model, torch_model.with_name("net.pt.sig"), keys)
    assert safeload.torch_load(torch_model, signature=sig, certificate=keys.ca)["layer.weight"].numel() == 4096
    calls = spy("torch", "load")
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(torch_model, signature=sig, certificate=[keys.other_ca])
    flip_byte(torch_model, torch_model.stat().st_size // 2)
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(torch_model, signature=sig, certificate=[keys.ca])
    assert calls == []


def test_joblib_signed_file(tmp_path: Path, keys: Keys, spy: Any) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    path = tmp_path / "est.joblib"
    joblib.dump({"coef": np.arange(5000.0)}, path)
    sig = sign_with_key(path, tmp_path / "est.sig", keys)
    assert safeload.joblib_load(path, signature=sig, public_key=keys.public)["coef"][4999] == 4999.0
    flip_byte(path, path.stat().st_size - 100)  # inside the inline array data
    calls = spy("joblib.numpy_pickle", "_unpickle")
    with pytest.raises(safeload.IntegrityError):
        safeload.joblib_load(path, signature=sig, public_key=keys.public)
    assert calls == []


def test_exactly_one_verification_method(torch_model: Path, keys: Keys) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.torch_load(torch_model, signature=sig)
    assert "exactly one" in info.value.reason
    with pytest.raises(safeload.IntegrityError):
        safeload.torch_load(torch_model, signature=sig, public_key=keys.public, certificate=keys.ca)


def test_sigstore_without_a_valid_trust_root_fails_closed(torch_model: Path, keys: Keys, tmp_path: Path) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    trust = tmp_path / "trust.json"
    trust.write_text("{}")
    integrity = safeload.Integrity(signature=str(sig), identity="someone@example.com",
                                   oidc_issuer="https://issuer.example", trust_config=str(trust))
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.torch_load(torch_model, integrity=integrity)
    assert info.value.check == "signature"


# -- directories ---------------------------------------------------------------------------------------------
def _hf_like_repo(root: Path) -> Path:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    root.mkdir()
    joblib.dump({"coef": np.arange(100.0)}, root / "model.joblib")
    (root / "config.json").write_text('{"kind": "demo"}')
    (root / "extra.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    return root


def test_signed_directory_single_file_loads_and_configured_requirement(tmp_path: Path, keys: Keys,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       spy: Any) -> None:
    repo = _hf_like_repo(tmp_path / "repo")
    sig = sign_with_key(repo, repo / "model.sig", keys)
    assert safeload.joblib_load(repo / "model.joblib", signature=sig, public_key=keys.public)["coef"][99] == 99
    # The hook setting: every guarded load needs a signature, found as model.sig in the model's directory.
    monkeypatch.setenv("SAFELOAD_REQUIRE_SIGNATURE", "1")
    monkeypatch.setenv("SAFELOAD_PUBLIC_KEY", str(keys.public))
    assert safeload.joblib_load(repo / "model.joblib")["coef"][0] == 0
    with open(repo / "extra.pkl", "rb") as handle:
        assert safeload.pickle_load(handle) == [1, 2, 3]
    calls = spy("pickle", "load")
    (repo / "unsigned.pkl").write_bytes(pickle.dumps("new"))
    with pytest.raises(safeload.IntegrityError) as info, open(repo / "unsigned.pkl", "rb") as handle:
        safeload.pickle_load(handle)
    assert "not covered" in info.value.reason
    with pytest.raises(safeload.IntegrityError):
        safeload.pickle_loads(pickle.dumps("bytes have no signature"))
    # A call cannot swap the configured key for its own.
    with pytest.raises(safeload.IntegrityError), open(repo / "extra.pkl", "rb") as handle:
        safeload.pickle_load(handle, signature=sig, public_key=keys.other_public)
    assert calls == []
    outside = tmp_path / "elsewhere.pkl"
    outside.write_bytes(pickle.dumps(1))
    with pytest.raises(safeload.IntegrityError) as info, open(outside, "rb") as handle:
        safeload.pickle_load(handle)
    assert "none was found" in info.value.reason


def test_cli_verify_signature(tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _hf_like_repo(tmp_path / "repo")
    sig = sign_with_key(repo, tmp_path / "repo.sig", keys)
    args = ["verify", "--signature", str(sig), "--public-key", str(keys.public), str(repo)]
    assert cli.main(args) == 0
    assert "OK" in capsys.readouterr().out
    assert cli.main(["verify", "--signature", str(sig), "--public-key", str(keys.other_public), str(repo)]) == 1
    (repo / "added.bin").write_bytes(b"x")
    assert cli.main(args) == 1
    assert "added.bin" in capsys.readouterr().out
    assert cli.main(["verify", "--signature", str(sig)]) == 2  # no model path: usage error
    single = tmp_path / "one.pkl"
    single.write_bytes(pickle.dumps(5))
    one_sig = sign_with_key(single, tmp_path / "one.sig", keys)
    assert cli.main(["verify", "--signature", str(one_sig), "--public-key", str(keys.public), str(single)]) == 0
    flip_byte(single, 3)
    assert cli.main(["verify", "--signature", str(one_sig), "--public-key", str(keys.public), str(single)]) == 1


@pytest.mark.slow
@pytest.mark.tensorflow
def test_keras_directory_signature(tmp_path: Path, keys: Keys, spy: Any) -> None:
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "kdir"
    model.save(path, zipped=False)
    sig = sign_with_key(path, tmp_path / "kdir.sig", keys)
    loaded = safeload.keras_load(path, signature=sig, public_key=keys.public)
    np.testing.assert_allclose(loaded(np.ones((1, 3), dtype="float32")), model(np.ones((1, 3), dtype="float32")))
    backup = tmp_path / "backup"
    shutil.copytree(path, backup)
    calls = spy("keras.saving", "load_model")
    (path / "notes.txt").write_text("added after signing")
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.keras_load(path, signature=sig, public_key=keys.public)
    assert "notes.txt" in info.value.reason
    shutil.rmtree(path)
    shutil.copytree(backup, path)
    weights = path / "model.weights.h5"
    flip_byte(weights, weights.stat().st_size - 8)
    with pytest.raises(safeload.IntegrityError):
        safeload.keras_load(path, signature=sig, public_key=keys.public)
    shutil.rmtree(path)
    shutil.copytree(backup, path)
    with pytest.raises(safeload.IntegrityError):
        safeload.keras_load(path, signature=sig, public_key=keys.other_public)
    assert calls == []
    assert os.path.isdir(path)


def test_without_model_signing_a_signature_check_refuses(torch_model: Path, keys: Keys,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sig = sign_with_key(torch_model, torch_model.with_name("net.pt.sig"), keys)
    for name in [m for m in list(sys.modules) if m.startswith("model_signing")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "model_signing", None)  # what an uninstalled package looks like
    with pytest.raises(safeload.IntegrityError) as info:
        safeload.torch_load(torch_model, signature=sig, public_key=keys.public)
    assert "safeload[signing]" in info.value.reason


def test_cli_verify_with_a_certificate_chain(tmp_path: Path, keys: Keys) -> None:
    model = tmp_path / "m.pkl"
    model.write_bytes(pickle.dumps({"w": 1}))
    sig = sign_with_certificate(model, tmp_path / "m.sig", keys)
    assert cli.main(["verify", "--signature", str(sig), "--certificate", str(keys.ca), str(model)]) == 0
    assert cli.main(["verify", "--signature", str(sig), "--certificate", str(keys.other_ca), str(model)]) == 1
