"""go-plugin's side of starting a plugin: check the magic cookie and protocol version
Terraform sets in the environment, listen on a unix socket with a fresh self-signed
certificate (AutoMTLS: only the client certificate Terraform passed in PLUGIN_CLIENT_CERT
is accepted), and announce the socket and certificate on stdout in one line
`CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT`."""

import base64
import datetime
import os
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Terraform's handshake cookie (the same for every provider; it only tells a plugin that
# Terraform started it).
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
CORE_PROTOCOL_VERSION = 1
APP_PROTOCOL_VERSION = 6


class HandshakeError(Exception):
    pass


def check_environment(environ):
    if environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        raise HandshakeError(
            "this is a Terraform provider plugin: Terraform starts it (run terraform init/plan "
            "with a CLI config whose filesystem_mirror holds it), it is not run by hand"
        )
    offered = [v.strip() for v in environ.get("PLUGIN_PROTOCOL_VERSIONS", "").split(",") if v.strip()]
    if offered and str(APP_PROTOCOL_VERSION) not in offered:
        raise HandshakeError(
            f"Terraform offers plugin protocol versions {','.join(offered)}; this stand-in speaks "
            f"only {APP_PROTOCOL_VERSION} (Terraform >= 1.0 speaks it)"
        )


def server_certificate():
    """(certificate PEM, key PEM, certificate DER) of a certificate for "localhost" that
    is its own CA, as go-plugin makes one: the client pins exactly this certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key_pem,
        cert.public_bytes(serialization.Encoding.DER),
    )


def socket_path(environ):
    # go-plugin clients name the directory for plugin sockets in PLUGIN_UNIX_SOCKET_DIR.
    base = environ.get("PLUGIN_UNIX_SOCKET_DIR") or tempfile.gettempdir()
    return os.path.join(tempfile.mkdtemp(prefix="plugin", dir=base), "plugin.sock")


def announce(address, cert_der):
    cert_field = base64.b64encode(cert_der).decode().rstrip("=") if cert_der else ""
    sys.stdout.write(
        f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{address}|grpc|{cert_field}\n"
    )
    sys.stdout.flush()
