"""Runs scim2-tester (PyPI) against Twofold's /scim/v2/ and fails on any check that is not met.

Usage: check.py BASE_URL TOKEN. Prints one line per check; exits 1 when a check ended in
ERROR or CRITICAL, or when no check ran at all.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
results = check_server(SyncSCIMClient(http))
bad = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
for r in results:
    print(f"{r.status.name:10} {r.resource_type or '-':6} {r.title}: {(r.reason or '').splitlines()[0] if r.reason else ''}")
passed = [r for r in results if r.status == Status.SUCCESS]
print(f"{len(passed)} passed, {len(bad)} failed, {len(results)} checks")
for r in bad:
    print(f"FAILED {r.title} ({r.resource_type}): {r.reason}", file=sys.stderr)
sys.exit(1 if bad or not passed else 0)
