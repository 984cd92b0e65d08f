"""A saved plan is applied only as Coffer computes it: an edited plan file is refused."""

import json

from coffer_e2e import inventory


def test_an_edited_plan_file_is_refused(emu, coffer, tmp_path):
    saved = tmp_path / "plan.json"
    made = coffer.run("plan", "--out", str(saved))
    assert made.code == 0, made
    plan = json.loads(saved.read_text())

    # Same digest and fingerprint, but a step now grants the key to another account.
    for step in plan["steps"]:
        if step["operation"]["call"] == "CreateKey":
            statements = step["operation"]["policy"]["Statement"]
            statements.append(
                {"Sid": "Intruder", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:*", "Resource": "*"}
            )
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(plan))

    refused = coffer.run("apply", str(edited))
    assert refused.code == 1, refused
    assert "plan file's changes or steps differ" in refused.stderr, refused
    assert inventory(emu).active_keys == {}, "a refused plan must change nothing"

    applied = coffer.run("apply", str(saved))
    assert applied.code == 0, applied
    coffer.assert_converged()
