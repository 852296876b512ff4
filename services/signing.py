"""The e-documents' signing key: Ed25519 (``cryptography``), generated at first start in the data
dir and never leaving it; a signature travels at the end of the PDF it signs, after ``%%EOF``,
where PDF readers ignore it, so the file alone can be checked against our public key."""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "service-signing-key.pem"
MARK = b"\n%12367-Ed25519-Signature: "


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The key in ``data_dir``, created there (readable by its owner only) if missing. Two
    processes starting at once keep the one written first: the file appears whole or not at all."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".key-")
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            os.link(tmp, path)  # fails if another process got there first: theirs is kept
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def sign_pdf(pdf: bytes, key: Ed25519PrivateKey) -> tuple[bytes, str]:
    """The signed file and its signature (base64)."""
    signature = base64.b64encode(key.sign(pdf))
    return pdf + MARK + signature + b"\n", signature.decode()


def split_signed(signed: bytes) -> tuple[bytes, bytes] | None:
    """The PDF as signed and its signature, or None when the file carries none."""
    at = signed.rfind(MARK)
    if at < 0:
        return None
    try:
        return signed[:at], base64.b64decode(signed[at + len(MARK):].strip(), validate=True)
    except ValueError:
        return None


def signature_holds(signed: bytes, public: Ed25519PublicKey) -> bool:
    parts = split_signed(signed)
    if parts is None:
        return False
    try:
        public.verify(parts[1], parts[0])
    except InvalidSignature:
        return False
    return True
