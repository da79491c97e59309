"""``python -m workflows``: the command line lives in the shell (:mod:`shell.cli`); the core never imports it."""

import os
import sys

from shell.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
raise SystemExit(code)
