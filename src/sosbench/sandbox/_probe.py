"""The script ``check_available`` runs in a sandbox: it only says it started."""

import sys

sys.stdout.write('{"ready": true}\n')
