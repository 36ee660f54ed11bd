"""The local certificate authority and server certificate for the HTTPS port.

simple-salesforce always builds https:// URLs from the instance URL, so the emulators must speak
TLS. The CA is made once with trustme and kept in `<data_dir>/tls/`; clients trust `ca.pem`
(requests: `session.verify = ".../ca.pem"`). Keeping it across restarts keeps clients' trust valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

from sandbox.emulators.credentials import write_private

HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path  # server certificate chain (PEM)
    key: Path


def ensure_certificates(data_dir: Path) -> TlsFiles:
    folder = data_dir / "tls"
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    if all(p.exists() for p in (files.ca, files.cert, files.key)):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Customer Success Copilot sandbox")
    leaf = ca.issue_cert(*HOSTS, common_name="copilot-sandbox-emulators")
    ca.cert_pem.write_to_path(str(files.ca))
    files.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    write_private(files.key, leaf.private_key_pem.bytes())
    return files
