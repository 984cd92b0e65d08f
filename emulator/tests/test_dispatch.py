"""A signed call answered straight by moto's response class (``dispatch.py``) gets the answer
moto's own server gives it: the same status, headers and body, for answers and errors alike.

The emulator runs in a child process (moto's state and the emulator's patches stay out of the
test process), serving each call twice on the same state: once the direct way, once through
moto's server.
"""

import json
import subprocess
import sys
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[1]

# Each call once per protocol the emulator's services speak, answers and errors.
CHILD = r"""
import json, sys, threading
import boto3, botocore.exceptions
from coffer_emulator import patches
from coffer_emulator.connections import KeepAliveRequestHandler
from coffer_emulator.dispatch import Dispatcher
from coffer_emulator.middleware import Emulator
from coffer_emulator.server import Server

patches.install()
emulator = Emulator(None)
server = Server("127.0.0.1", 0, emulator, handler=KeepAliveRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}"

CALLS = [
    ("backup", "list_backup_vaults", {}),
    ("backup", "describe_backup_vault", {"BackupVaultName": "missing"}),
    ("backup", "get_backup_vault_access_policy", {"BackupVaultName": "dispatch"}),
    ("kms", "list_keys", {}),
    ("kms", "describe_key", {"KeyId": "alias/missing"}),
    ("sts", "get_caller_identity", {}),
    ("organizations", "describe_organization", {}),
    ("rds", "describe_db_instances", {}),
    ("rds", "describe_db_snapshots", {"DBSnapshotIdentifier": "missing"}),
    ("resourcegroupstaggingapi", "get_resources", {}),
    ("iam", "list_roles", {}),
]
VARYING = {"date", "x-amzn-requestid", "x-amz-request-id"}

def call(service, operation, parameters):
    client = boto3.client(service, endpoint_url=url, region_name="eu-west-1",
                          aws_access_key_id="AKIADISPATCH", aws_secret_access_key="x")
    try:
        answer = getattr(client, operation)(**parameters)
        error = None
    except botocore.exceptions.ClientError as caught:
        answer, error = caught.response, caught.response.get("Error")
    meta = answer.pop("ResponseMetadata")
    headers = {k: v for k, v in meta["HTTPHeaders"].items() if k not in VARYING}
    body = {k: v for k, v in answer.items() if k != "Error"}
    return {"status": meta["HTTPStatusCode"], "headers": headers, "body": repr(body), "error": error}

direct_handlers = []
original_handler = Dispatcher._handler
def counted(self, app):
    handler = original_handler(self, app)
    direct_handlers.append(handler is not None)
    return handler
Dispatcher._handler = counted

boto3.client("backup", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="AKIADISPATCH",
             aws_secret_access_key="x").create_backup_vault(BackupVaultName="dispatch")
direct_answer = Dispatcher.answer
results = []
for service, operation, parameters in CALLS:
    direct = call(service, operation, parameters)
    Dispatcher.answer = Dispatcher.__call__
    through_moto = call(service, operation, parameters)
    Dispatcher.answer = direct_answer
    results.append({"call": f"{service}:{operation}", "direct": direct, "moto": through_moto})
json.dump({"results": results, "direct_handlers": direct_handlers}, sys.stdout)
"""


def _serve_each_call_twice() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=EMULATOR, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_call_answered_directly_gets_moto_servers_answer():
    outcome = _serve_each_call_twice()
    assert len(outcome["results"]) == 11
    # Every call went the direct way the first time: each service's rules lead to one handler.
    assert outcome["direct_handlers"] and all(outcome["direct_handlers"]), outcome["direct_handlers"]
    differences = [r for r in outcome["results"] if r["direct"] != r["moto"]]
    assert differences == [], json.dumps(differences, indent=1)[:4000]
    statuses = {r["direct"]["status"] for r in outcome["results"]}
    assert statuses >= {200, 400}, statuses  # answers and errors both compared
