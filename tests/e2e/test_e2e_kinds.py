"""Every kind of resource Coffer plans is also read back from AWS.

`crates/planner/tests/kinds.rs` checks that the seed plans a resource of every kind, that each
kind is deleted once it leaves the file, and that drift reports each kind; this test closes the
loop through AWS: a kind the reader forgot would be planned again after the apply.
"""

from collections import Counter


def test_every_kind_planned_from_empty_accounts_is_read_back_after_apply(emu, coffer):
    result, first = coffer.plan_json()
    assert result.code == 2, f"the seed's first plan should have changes:\n{result}"
    planned = Counter(change["kind"] for change in first["changes"])
    assert "create" in {change["action"] for change in first["changes"]}, first["changes"]

    applied = coffer.apply()
    assert applied.code == 0, applied

    result, again = coffer.plan_json()
    read_back = Counter(change["kind"] for change in again["changes"])
    not_in_sync = [(c["address"], c["action"]) for c in again["changes"] if c["action"] != "no-op"]
    assert not not_in_sync, f"planned again after the apply (not read back from AWS): {not_in_sync}"
    assert read_back == planned, f"kinds planned {dict(planned)}, read back {dict(read_back)}"
    assert result.code == 0, result
