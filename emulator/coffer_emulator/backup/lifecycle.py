"""Recovery point lifecycles: what AWS Backup accepts, and what a copy inherits.

A ``Lifecycle`` appears in ``StartBackupJob``, ``StartCopyJob``, ``UpdateRecoveryPointLifecycle``,
backup plan rules and their copy actions. The service model gives its members no range
(``DeleteAfterDays`` and ``MoveToColdStorageAfterDays`` are plain longs), so the request
validation layer cannot check them: AWS Backup's own rules are here.

* ``DeleteAfterDays`` is 1..36,500, or -1 (keep indefinitely); anything else is refused with
  ``Invalid lifecycle. DeleteAfterDays cannot be less than 1 or more than 36500 days`` (AWS's
  message, ``InvalidParameterValueException``).
  [source: https://github.com/hashicorp/terraform-provider-aws/issues/24960]
  [source: BOTO-BACKUP Lifecycle: "specify -1 for MoveToColdStorageAfterDays and DeleteAfterDays"]
* ``MoveToColdStorageAfterDays`` is 0..36,500, or -1 (the range is the emulator's reading: AWS
  documents only -1 and the cold-storage minimum below; message mirrors AWS's).
* A recovery point stays in cold storage at least 90 days: when both are set (and neither is
  -1), ``DeleteAfterDays`` must be at least ``MoveToColdStorageAfterDays`` + 90, else
  ``Invalid lifecycle. DeleteAfterDays cannot be less than 90 days apart from
  MoveToColdStorageAfterDays`` (AWS's message).
  [source: https://github.com/hashicorp/terraform-provider-aws/pull/7350 ("Error in rule
  backup-plan-rule : Invalid lifecycle. DeleteAfterDays cannot be less than 90 days apart from
  MoveToColdStorageAfterDays", status code 400)]
  [source: BOTO-BACKUP Lifecycle.DeleteAfterDays]
* In a backup plan the message is prefixed with ``Error in rule <RuleName> : `` (AWS's form).
  [source: https://github.com/lgallard/terraform-aws-backup/issues/40]
"""

from typing import Any

from .errors import InvalidParameterValue

MAX_DAYS = 36500  # docs/aws-behaviour.md section 5.1
COLD_STORAGE_MINIMUM_DAYS = 90
INDEFINITELY = -1


def _days(lifecycle: dict[str, Any], name: str) -> int | None:
    value = lifecycle.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(f"Invalid lifecycle. {name} must be a number of days")
    return value


def problem(lifecycle: dict[str, Any] | None) -> str | None:
    """Why AWS Backup refuses ``lifecycle``, in AWS's words, or None when it is valid."""
    if not lifecycle:
        return None
    delete_after = _days(lifecycle, "DeleteAfterDays")
    cold_after = _days(lifecycle, "MoveToColdStorageAfterDays")
    if delete_after is not None and delete_after != INDEFINITELY and not 1 <= delete_after <= MAX_DAYS:
        return f"Invalid lifecycle. DeleteAfterDays cannot be less than 1 or more than {MAX_DAYS} days"
    if cold_after is not None and cold_after != INDEFINITELY and not 0 <= cold_after <= MAX_DAYS:
        return f"Invalid lifecycle. MoveToColdStorageAfterDays cannot be less than 0 or more than {MAX_DAYS} days"
    if (
        delete_after not in (None, INDEFINITELY)
        and cold_after not in (None, INDEFINITELY)
        and delete_after < cold_after + COLD_STORAGE_MINIMUM_DAYS  # type: ignore[operator]
    ):
        return (
            f"Invalid lifecycle. DeleteAfterDays cannot be less than {COLD_STORAGE_MINIMUM_DAYS} days apart "
            "from MoveToColdStorageAfterDays"
        )
    return None


def validate(lifecycle: dict[str, Any] | None) -> None:
    """Refuse an invalid ``Lifecycle`` of a job or recovery point (InvalidParameterValueException)."""
    message = problem(lifecycle)
    if message:
        raise InvalidParameterValue(message)


def validate_plan(document: dict[str, Any]) -> None:
    """Refuse a backup plan whose rules or copy actions carry an invalid ``Lifecycle``, with the
    ``Error in rule <RuleName> : `` prefix AWS puts on plan errors."""
    for rule in document.get("Rules") or []:
        lifecycles = [rule.get("Lifecycle")] + [action.get("Lifecycle") for action in rule.get("CopyActions") or []]
        for lifecycle in lifecycles:
            message = problem(lifecycle)
            if message:
                raise InvalidParameterValue(f"Error in rule {rule.get('RuleName')} : {message}")


def of_copy(requested: dict[str, Any] | None, source: dict[str, Any] | None) -> dict[str, Any] | None:
    """The lifecycle of a copy: the one the copy job asks for, else the source recovery point's.

    Copies keep their source's configuration, retention included, unless the copy sets its own;
    a copy set to never expire (``DeleteAfterDays`` -1 or absent) still keeps its source's expiry.
    [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/recov-point-create-a-copy.html]
    """
    if not requested:
        return dict(source) if source else None
    result = dict(requested)
    if result.get("DeleteAfterDays") in (None, INDEFINITELY):
        result.pop("DeleteAfterDays", None)
        source_days = (source or {}).get("DeleteAfterDays")
        if source_days is not None:
            result["DeleteAfterDays"] = source_days
    return result
