#!/usr/bin/env python3
"""Builds a tiny wheel named `streamlit` for the playbook tests (not Streamlit).

The real Streamlit pulls in pandas, pyarrow and more: far too heavy to install from the
package index on every test run, and the end-to-end test must not depend on the index at
all. The playbook installs "streamlit==<streamlit_version>" with pip and configurable
extra arguments; the test points those at a directory holding this wheel
(--no-index --find-links <dir>). The wheel provides a `streamlit` console script that
accepts `streamlit run <app.py> --server.port P --server.address A ...` and serves over
HTTP: /_stcore/health answers "ok" (like Streamlit), / answers with the app's source, so
that the test can check which app file was deployed.

usage: stub_streamlit_wheel.py <output dir> <version>
"""

import base64
import hashlib
import os
import sys
import zipfile

CLI = '''\
import http.server
import sys


def main():
    argv = sys.argv[1:]
    if len(argv) < 2 or argv[0] != "run":
        sys.exit("usage: streamlit run <app.py> [--server.port P] [--server.address A] ...")
    app = argv[1]
    options = dict(zip(argv[2::2], argv[3::2]))
    port = int(options.get("--server.port", "8501"))
    address = options.get("--server.address", "0.0.0.0")
    with open(app, encoding="utf-8") as f:
        source = f.read().encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"ok" if self.path == "/_stcore/health" else source
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()
'''


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(out_dir, version):
    dist_info = f"streamlit-{version}.dist-info"
    files = {
        "streamlit/__init__.py": b'"""Test stub of streamlit (see stub_streamlit_wheel.py)."""\n',
        "streamlit/stub_cli.py": CLI.encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: streamlit\nVersion: {version}\n"
            "Summary: test stub standing in for Streamlit\n"
        ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: stub\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": b"[console_scripts]\nstreamlit = streamlit.stub_cli:main\n",
    }
    records = [record_line(name, data) for name, data in files.items()]
    records.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(records) + "\n").encode()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"streamlit-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    print(path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build(sys.argv[1], sys.argv[2])
