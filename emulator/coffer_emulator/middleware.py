"""The WSGI application the launcher serves: moto behind the emulator's own layer.

For each request it:

1. sends ``/_coffer/...`` to the admin API, and moto's ``POST /moto-api/reset`` to the
   emulator's own reset (moto's alone would leave the emulator's layer behind);
2. for a SigV4-signed AWS call, works out service, operation, Region and account: an access
   key moto issued (AssumeRole) acts as its account, any other key as the world's
   management account (passed to moto with its ``x-moto-account-id`` header, because
   ``MOTO_ACCOUNT_ID`` would also override assumed-role credentials);
3. resolves the calling principal (``identity.py``: role, session, organization);
4. finishes backup/copy/restore jobs that are due, so every service sees their effects;
5. applies injected latency and throttling, refuses ``sts:AssumeRole`` into a role that does
   not exist (``roles.py``), evaluates KMS key policies (``kms_access.py``: refuses the call,
   or serves a cross-account call in the key's account), logs the call (with a
   ``request_key`` that tells repeated calls apart, see ``faults.request_key``), then lets
   moto answer with the caller available to the Backup extension (``identity.current()``),
   which evaluates vault access policies;
6. stores the writes ``alter_on_write`` names altered (``alter.py``);
7. for a call a lost-response fault hits (``faults.LostResponse``), lets moto answer, then
   throws the answer away and resets the connection or answers a 500/503 (``lost.py``).
"""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.iam.models import iam_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.organizations.models import organizations_backends
from moto.utilities.utils import PARTITION_NAMES

from . import admin, alter, identity, kms_access, lost, roles, validation, wire, world
from .backup import jobs
from .backup.jobs import JobTiming, settle_due_jobs
from .clock import CLOCK
from .dispatch import Dispatcher
from .faults import FaultConfig, FaultInjector, LostResponse, RequestLog, request_key

ADMIN_PREFIX = "/_coffer/"
MOTO_RESET_PATH = "/moto-api/reset"
StartResponse = Callable[..., Any]


class Emulator:
    def __init__(self, job_delay_override: float | None):
        self.job_delay_override = job_delay_override
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.moto = Dispatcher()
        # The account of each temporary access key moto issued (``ASIA...``, by AssumeRole),
        # found once: such a key cannot be deleted or change account, only forgotten by a reset.
        self._key_accounts: dict[str, str] = {}
        self._resets = 0  # a key's account found before a reset is not remembered after it
        self._keys_lock = threading.Lock()
        self._admin_lock = threading.RLock()
        self.base_job_delay = job_delay_override if job_delay_override is not None else JobTiming.DEFAULT_SECONDS
        JobTiming.delay_seconds = self.base_job_delay

    # ------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget all AWS state, the world, faults, the request log and clock offset."""
        with self._admin_lock:
            with jobs.resetting():
                moto_api_backend.reset()
            organizations_backends.master_accounts.clear()
            world.forget()
            CLOCK.reset()
            with self._keys_lock:
                self._resets += 1
                self._key_accounts.clear()
            self.faults.configure(FaultConfig())
            self.requests.clear()
            JobTiming.delay_seconds = self.base_job_delay

    def load_world(self, document: dict[str, Any]) -> None:
        """Reset, then create the world; on an invalid world the state is left reset."""
        with self._admin_lock:
            self.reset()
            try:
                self.faults.configure(world.load(document, self.job_delay_override))
            except Exception:
                self.reset()
                raise

    def _moto_reset(self, start_response: StartResponse) -> Iterable[bytes]:
        """moto's own ``POST /moto-api/reset`` (moto's tests call it before and after each test in
        server mode) does the emulator's whole reset, answered as moto answers it."""
        self.reset()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status": "ok"}']

    # ------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(ADMIN_PREFIX):
            return admin.handle(self, environ, start_response)
        if environ.get("PATH_INFO") == MOTO_RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._moto_reset(start_response)
        call = wire.classify(environ)
        if call is None:
            return self.moto(environ, start_response)
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or self._account_for_key(call.access_key)
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
        caller = identity.resolve(call.access_key, account)
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        key = request_key(
            account=account,
            region=call.region,
            service=call.service,
            operation=call.operation,
            method=method,
            path=path,
            query=environ.get("QUERY_STRING", ""),
            body=wire.read_body(environ),
        )
        logged = {
            "method": method,
            "path": path,
            "request_key": key,
            "connection": f"{environ.get('REMOTE_ADDR', '')}:{environ.get('REMOTE_PORT', '')}",
            **sdk_attempt(environ),
        }
        decision = self.faults.decide(call.service, call.operation)
        if decision.latency_seconds:
            time.sleep(decision.latency_seconds)
        settle_due_jobs()
        if decision.throttle:
            status, headers, body = wire.throttling_response(call)
            start_response(f"{status} Bad Request", headers)
            self.requests.record(account, call.service, call.operation, call.region, status, True, **logged)
            return [body]
        rejection = validation.check(call, environ)  # the service model's rules, as AWS applies them
        if rejection is not None:
            status, headers, body = rejection
            start_response(f"{status} Bad Request", headers)
            self.requests.record(account, call.service, call.operation, call.region, status, False, **logged)
            return [body]
        denial = roles.assume_role_denial(call, environ, account)
        if denial is not None:
            status, headers, body = denial
            start_response(f"{status} Forbidden", headers)
            self.requests.record(account, call.service, call.operation, call.region, status, False, **logged)
            return [body]
        if call.service == "kms":
            answer = kms_access.check(call, environ, caller)
            if answer.response is not None:
                status, headers, body = answer.response
                start_response(f"{status} Bad Request", headers)
                self.requests.record(account, call.service, call.operation, call.region, status, False, **logged)
                return [body]
            if answer.route_account is not None:
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = answer.route_account
        if f"{call.service}:{call.operation}" in self.faults.config().alter_on_write:
            alter.rewrite(call, environ, wire.read_body(environ), account)
        if decision.lost is not None:
            return self._lose_answer(decision.lost, call, environ, start_response, caller, account, logged)
        statuses: list[int] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        with identity.acting_as(caller):
            result = self.moto.answer(call, environ, recording_start_response)
        self.requests.record(
            account, call.service, call.operation, call.region, statuses[-1] if statuses else 0, False, **logged
        )
        return result

    def _account_for_key(self, access_key: str) -> str:
        """The account an access key acts as: moto-issued keys (AssumeRole) belong to an account;
        any other key acts as the world's management account."""
        known = self._key_accounts.get(access_key)
        if known is not None:
            return known
        resets = self._resets
        issuer = issuing_account(access_key)
        if issuer is None:
            return world.CURRENT.default_account
        if access_key.startswith(TEMPORARY_KEY_PREFIX):
            with self._keys_lock:
                if resets == self._resets:
                    self._key_accounts[access_key] = issuer
        return issuer

    def _lose_answer(
        self,
        rule: LostResponse,
        call: wire.Call,
        environ: dict[str, Any],
        start_response: StartResponse,
        caller: Any,
        account: str,
        logged: dict[str, str],
    ) -> Iterable[bytes]:
        """Serve the call (it takes effect), then lose its answer as ``rule`` says."""
        with identity.acting_as(caller):
            answer = self.moto.answer(call, environ, lambda status, headers, exc_info=None: None)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
        status = lost.status_of(rule)
        self.requests.record(account, call.service, call.operation, call.region, status, False, lost=rule.kind, **logged)
        return lost.deliver(rule, call, environ, start_response)


def sdk_attempt(environ: dict[str, Any]) -> dict[str, Any]:
    """What the AWS SDKs say of the attempt: the invocation ID all attempts of one call share
    (``amz-sdk-invocation-id``) and the attempt's number and the most attempts allowed
    (``amz-sdk-request: attempt=2; max=8``); empty and None when the client sends neither."""
    fields = dict(
        part.strip().partition("=")[::2] for part in environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";") if "=" in part
    )

    def number(name: str) -> int | None:
        value = fields.get(name, "")
        return int(value) if value.isdigit() else None

    return {
        "invocation": environ.get("HTTP_AMZ_SDK_INVOCATION_ID", ""),
        "attempt": number("attempt"),
        "max_attempts": number("max"),
    }


# Temporary credentials (AssumeRole's) have access key IDs that begin so.
# [source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html ("ASIA")]
TEMPORARY_KEY_PREFIX = "ASIA"


def issuing_account(access_key: str) -> str | None:
    """The account whose IAM issued ``access_key``, if moto issued it."""
    for account_id, per_partition in list(iam_backends.items()):
        for partition in PARTITION_NAMES:
            if partition in per_partition.keys() and access_key in per_partition[partition].access_keys:
                return account_id
    return None
