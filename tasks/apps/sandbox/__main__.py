"""`python -m tasks.apps.sandbox [PORT]`: serve the sandbox apps on 127.0.0.1, print their URLs."""

import sys

from tasks.apps.sandbox.serve import serve

serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
