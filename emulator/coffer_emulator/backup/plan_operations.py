"""Backup plans, their versions and their selections (``PlanOperations``, part of the backend)."""

import re
from typing import Any

from moto.backup.models import BackupBackend

from .. import service_roles
from ..clock import CLOCK
from . import lifecycle as lifecycles
from .errors import AlreadyExists, InvalidParameterValue, InvalidRequest, MissingParameterValue, ResourceNotFound
from .models import Plan, Selection, new_id

RULE_OR_SELECTION_NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")  # BackupRuleName, BackupSelectionName
PLAN_NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")  # docs/aws-behaviour.md section 5.1


class PlanOperations(BackupBackend):
    """The backend's backup plans by ID (deleted ones kept, with their ``DeletionDate``)."""

    plans: dict[str, Plan]  # type: ignore[assignment]

    # ------------------------------------------------------------------ plans

    def create_backup_plan(  # type: ignore[override]
        self,
        backup_plan: dict[str, Any] | None,
        backup_plan_tags: dict[str, str] | None,
        creator_request_id: str | None,
    ) -> Plan:
        """CreateBackupPlan. A matching ``CreatorRequestId`` returns the existing plan; an
        identical existing plan gives AlreadyExistsException.
        [source: BOTO-BACKUP CreateBackupPlan; docs/aws-behaviour.md section 5.1]
        """
        self._validate_plan(backup_plan)
        assert backup_plan is not None
        live = [p for p in self.plans.values() if p.deletion_date is None]
        if creator_request_id:
            for plan in live:
                if plan.creator_request_id == creator_request_id:
                    return plan
        if any(p.current.input_document == backup_plan for p in live):
            raise AlreadyExists("Backup plan with the same plan document already exists")
        plan = Plan(self.account_id, self.region_name, backup_plan, creator_request_id)
        self.plans[plan.backup_plan_id] = plan
        if backup_plan_tags:
            self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
        return plan

    @staticmethod
    def _validate_plan(document: dict[str, Any] | None) -> None:
        if not document:
            raise MissingParameterValue("BackupPlan")
        if not PLAN_NAME.match(document.get("BackupPlanName") or ""):
            raise InvalidParameterValue(f"Invalid backup plan name: {document.get('BackupPlanName')}")
        for rule in document.get("Rules") or []:
            if not RULE_OR_SELECTION_NAME.match(rule.get("RuleName") or ""):
                raise InvalidParameterValue(f"Invalid backup rule name: {rule.get('RuleName')}")
            if not rule.get("TargetBackupVaultName"):
                raise MissingParameterValue("TargetBackupVaultName")
        lifecycles.validate_plan(document)

    def _live_plan(self, backup_plan_id: str) -> Plan:
        plan = self.plans.get(backup_plan_id)
        if plan is None or plan.deletion_date is not None:
            raise ResourceNotFound(f"Failed reading Backup plan {backup_plan_id}")
        return plan

    def update_backup_plan(self, backup_plan_id: str, backup_plan: dict[str, Any] | None) -> Plan:
        """UpdateBackupPlan stores a new version with a new ``VersionId``. [source: BOTO-BACKUP UpdateBackupPlan]"""
        plan = self._live_plan(backup_plan_id)
        self._validate_plan(backup_plan)
        assert backup_plan is not None
        plan.add_version(backup_plan)
        return plan

    def get_backup_plan(self, backup_plan_id: str, version_id: str | None) -> tuple[Plan, Any]:  # type: ignore[override]
        plan = self.plans.get(backup_plan_id)
        version = plan.version(version_id) if plan is not None else None
        if plan is None or version is None:
            raise ResourceNotFound("Failed reading Backup plan with provided version")
        return plan, version

    def list_backup_plans(self, include_deleted: bool) -> list[Plan]:  # type: ignore[override]
        return [p for p in self.plans.values() if include_deleted or p.deletion_date is None]

    def delete_backup_plan(self, backup_plan_id: str) -> Plan:  # type: ignore[override]
        """DeleteBackupPlan works only after all the plan's selections are deleted.
        [source: BOTO-BACKUP DeleteBackupPlan]
        """
        plan = self._live_plan(backup_plan_id)
        if plan.selections:
            raise InvalidRequest("Related backup plan selections must be deleted prior to backup plan deletion")
        plan.deletion_date = CLOCK.now()
        return plan

    # ------------------------------------------------------------- selections

    def create_backup_selection(
        self, backup_plan_id: str, document: dict[str, Any] | None, creator_request_id: str | None
    ) -> Selection:
        """CreateBackupSelection. A selection needs ``Resources`` or ``ListOfTags``; a matching
        ``CreatorRequestId`` returns the existing selection.
        [source: BOTO-BACKUP BackupSelection; https://github.com/ministryofjustice/modernisation-platform-terraform-baselines/pull/90]
        """
        plan = self._live_plan(backup_plan_id)
        if not document:
            raise MissingParameterValue("BackupSelection")
        if creator_request_id:
            for selection in plan.selections.values():
                if selection.creator_request_id == creator_request_id:
                    return selection
        if not RULE_OR_SELECTION_NAME.match(document.get("SelectionName") or ""):
            raise InvalidParameterValue(f"Invalid backup selection name: {document.get('SelectionName')}")
        if not document.get("IamRoleArn"):
            raise MissingParameterValue("IamRoleArn")
        service_roles.require_assumable_role(self.account_id, document["IamRoleArn"])
        if not document.get("Resources") and not document.get("ListOfTags"):
            raise InvalidParameterValue(
                "Invalid backup selection. Either 'ListOfTags' or 'Resources' section must be non-empty."
            )
        selection = Selection(
            selection_id=new_id(),
            backup_plan_id=backup_plan_id,
            document=document,
            creator_request_id=creator_request_id,
        )
        plan.selections[selection.selection_id] = selection
        return selection

    def get_backup_selection(self, backup_plan_id: str, selection_id: str) -> Selection:
        selection = self._live_plan(backup_plan_id).selections.get(selection_id)
        if selection is None:
            raise ResourceNotFound(f"Failed reading backup selection {selection_id}")
        return selection

    def list_backup_selections(self, backup_plan_id: str) -> list[Selection]:
        return list(self._live_plan(backup_plan_id).selections.values())

    def delete_backup_selection(self, backup_plan_id: str, selection_id: str) -> None:
        self.get_backup_selection(backup_plan_id, selection_id)
        del self.plans[backup_plan_id].selections[selection_id]
