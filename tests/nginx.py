"""A real nginx (Debian's) terminating TLS in front of Tessera instances, for proxy tests."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from live import ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROXY_PARAMS = ROOT / "deploy" / "nginx" / "proxy-params.conf"
# The client address nginx pretends to locate, as a GeoIP module would.
COUNTRY_OF = {"127.1.2.3": "DE"}


def available() -> bool:
    return os.path.exists(NGINX)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written into FOLDER."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "proxy.crt", folder / "proxy.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _config(folder: Path, port: int, upstreams: list[str], cert: Path, key: Path) -> str:
    servers = "\n".join(f"        server {url.removeprefix('http://')} max_fails=1 "
                        "fail_timeout=30s;" for url in upstreams)
    countries = "\n".join(f"        {address} {code};" for address, code in COUNTRY_OF.items())
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $remote_addr $tessera_country {{
        default "";
{countries}
    }}
    upstream tessera {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://tessera;
            include {PROXY_PARAMS};
            proxy_set_header CF-IPCountry $tessera_country;
        }}
    }}
}}
"""


@contextmanager
def nginx_in_front(upstreams: list[str], folder: Path, port: int):
    """Run nginx with TLS on loopback PORT before UPSTREAMS; yield its certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    conf = folder / "nginx.conf"
    conf.write_text(_config(folder, port, upstreams, cert, key))
    with open(folder / "stderr", "wb") as stderr:
        process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder),
                                    "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("nginx exited: " + (folder / "stderr").read_text())
            try:
                requests.get(url + "/healthz", verify=str(cert), timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield cert
    finally:
        process.terminate()
        process.wait(timeout=15)
