"""The TLS end of go-plugin's AutoMTLS, in front of the gRPC server.

Terraform's client certificate (PLUGIN_CLIENT_CERT) has a P-521 key, and gRPC's bundled
TLS library (BoringSSL) no longer offers ecdsa_secp521r1_sha512 among the signature
schemes a server accepts from clients, so Go's TLS client finds no acceptable scheme and
sends no certificate. Python's ssl module (OpenSSL) accepts it; this proxy terminates TLS
(client certificate required and pinned, ALPN h2 as gRPC-Go requires) on the announced
socket and passes the plaintext HTTP/2 stream to the gRPC server's private socket."""

import asyncio
import os
import ssl
import threading


def server_context(cert_pem, key_pem, client_cert_pem, directory):
    cert_file = os.path.join(directory, "server.crt")
    key_file = os.path.join(directory, "server.key")
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(key_pem)
    with open(cert_file, "wb") as f:
        f.write(cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    os.unlink(key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=client_cert_pem.decode())
    context.set_alpn_protocols(["h2"])
    return context


async def _pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


def start(context, public_socket, private_socket):
    """Serves in a daemon thread; returns once the public socket accepts connections."""
    ready = threading.Event()
    failure = []

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_unix_connection(private_socket)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pump(client_reader, server_writer), _pump(server_reader, client_writer))

    async def run():
        try:
            server = await asyncio.start_unix_server(handle, path=public_socket, ssl=context)
        except OSError as error:
            failure.append(error)
            ready.set()
            return
        ready.set()
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(run()), daemon=True, name="tls-proxy").start()
    ready.wait()
    if failure:
        raise failure[0]
