"""A signed call answered straight by moto's response class (``dispatch.py``) gets the answer
moto's own server gives it: the same status, headers and body, for answers and errors alike, a
path moto's server routes nowhere and a browser's request (``Origin``) included.

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
    # A path moto's server routes nowhere (404), and a browser's request (Flask-CORS answers it).
    ("kms", "list_keys", {}, {"path": "/elsewhere"}),
    ("backup", "list_backup_vaults", {}, {"headers": {"Origin": "https://console.example"}}),
    ("sts", "get_caller_identity", {}, {"headers": {"Origin": "https://console.example"}}),
]
VARYING = {"date", "x-amzn-requestid", "x-amz-request-id"}

def call(service, operation, parameters, how=None):
    how = how or {}
    client = boto3.client(service, endpoint_url=url + how.get("path", ""), region_name="eu-west-1",
                          aws_access_key_id="AKIADISPATCH", aws_secret_access_key="x")
    def add_headers(request, **_):
        for name, value in how.get("headers", {}).items():
            request.headers[name] = value
    client.meta.events.register("before-sign", add_headers)
    try:
        answer = getattr(client, operation)(**parameters)
        error = None
    except botocore.exceptions.ClientError as caught:
        answer, error = caught.response, caught.response.get("Error")
    except botocore.exceptions.BotoCoreError as caught:  # an answer that is no AWS answer
        return {"status": None, "headers": {}, "body": "", "error": repr(caught)}
    meta = answer.pop("ResponseMetadata")
    headers = {k: v for k, v in meta["HTTPHeaders"].items() if k not in VARYING}
    body = {k: v for k, v in answer.items() if k != "Error"}
    return {"status": meta["HTTPStatusCode"], "headers": headers, "body": repr(body), "error": error}

direct_routes = []
original_route = Dispatcher._route
def counted(self, app):
    route = original_route(self, app)
    direct_routes.append(route is not None)
    return route
Dispatcher._route = counted

boto3.client("backup", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="AKIADISPATCH",
             aws_secret_access_key="x").create_backup_vault(BackupVaultName="dispatch")
direct_answer = Dispatcher.answer
results = []
for service, operation, parameters, *how in CALLS:
    direct = call(service, operation, parameters, *how)
    Dispatcher.answer = lambda self, call, environ, start_response: self(environ, start_response)
    through_moto = call(service, operation, parameters, *how)
    Dispatcher.answer = direct_answer
    results.append({"call": f"{service}:{operation} {how}", "direct": direct, "moto": through_moto})
json.dump({"results": results, "direct_routes": direct_routes}, sys.stdout)
"""


def _serve_each_call_twice() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=EMULATOR, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_call_answered_directly_gets_moto_servers_answer():
    outcome = _serve_each_call_twice()
    assert len(outcome["results"]) == 14
    # Each service's rules lead to one handler, so calls could go the direct way.
    assert outcome["direct_routes"] and all(outcome["direct_routes"]), outcome["direct_routes"]
    differences = [r for r in outcome["results"] if r["direct"] != r["moto"]]
    assert differences == [], json.dumps(differences, indent=1)[:4000]
    statuses = {r["direct"]["status"] for r in outcome["results"]}
    assert statuses >= {200, 400, 404}, statuses  # answers, errors and an unrouted path compared
    with_origin = [r["direct"]["headers"] for r in outcome["results"] if "Origin" in r["call"]]
    assert all(h.get("access-control-allow-origin") == "https://console.example" for h in with_origin), with_origin
