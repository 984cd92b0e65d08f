"""The apply lock is held for the whole apply: its claim is extended while the apply runs, and
released when it ends."""

import time

from support import MANAGEMENT

LOCK = "coffer-lock-seed"


def lock_expiry(emu):
    backup = emu.client("backup", MANAGEMENT)
    vaults = {v["BackupVaultName"]: v["BackupVaultArn"] for v in backup.list_backup_vaults()["BackupVaultList"]}
    if LOCK not in vaults:
        return None
    # The vault may be released between the two calls: then it has no tags left.
    expires = backup.list_tags(ResourceArn=vaults[LOCK])["Tags"].get("coffer:lock-expires")
    return int(expires) if expires is not None else None


def test_the_lock_is_renewed_during_a_long_apply_and_released_after(emu, coffer):
    # Every call takes 0.3 s, so the apply runs for several seconds; renew every 0.5 s.
    emu.admin("PUT", "faults", {"latency_ms": {"*": 300}})
    try:
        process = coffer.start("apply", "--auto-approve", env={"COFFER_TEST_LOCK_RENEW_SECONDS": "0.5"})
        seen = []
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            expiry = lock_expiry(emu)
            if expiry is not None and (not seen or seen[-1] != expiry):
                seen.append(expiry)
            time.sleep(0.4)
        out, err = process.communicate(timeout=120)
    finally:
        emu.admin("DELETE", "faults")
    assert process.returncode == 0, err
    assert len(seen) >= 2 and seen == sorted(seen), f"the claim's expiry was not extended: {seen}"
    assert lock_expiry(emu) is None, "the lock is released when the apply ends"
