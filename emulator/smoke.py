"""Smoke test of the "Done when" flow against a running emulator, with plain boto3.

    emulator/.venv/bin/python emulator/smoke.py http://127.0.0.1:5000

Expects the seed world (emulator/worlds/seed.yaml) freshly loaded. As each account (via
AssumeRole from the management account's plain credentials) it creates the source key and
alias, the backup vault with its key and access policy, turns on cross-account backup in
the management account, backs up the seeded RDS instance, copies the recovery point to the
backup account and restores it there. Exits non-zero at the first failed step.
"""

import json
import sys
import time

import boto3
from botocore.config import Config

REGION = "eu-west-1"
ORG_ID = "o-coffer0seed"
SOURCE, BACKUP = "111222333444", "666777888999"
CONFIG = Config(retries={"total_max_attempts": 1})


def session_for(url: str, account: str | None) -> boto3.Session:
    plain = boto3.Session(aws_access_key_id="AKIASMOKETEST", aws_secret_access_key="secret", region_name=REGION)
    if account is None:
        return plain
    credentials = plain.client("sts", endpoint_url=url, config=CONFIG).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/CofferDeployRole", RoleSessionName="coffer-smoke"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def policy(*statements: dict) -> str:
    """A policy document of ``Allow`` statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]})


def wait(describe, field: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = describe()
        if job[field] in ("COMPLETED", "FAILED"):
            if job[field] == "FAILED":
                raise SystemExit(f"job failed: {job.get('StatusMessage')}")
            return job
        if time.monotonic() > deadline:
            raise SystemExit(f"job still {job[field]} after 60 s")
        time.sleep(0.1)


def main(url: str) -> None:
    management, source, backup = (session_for(url, a) for a in (None, SOURCE, BACKUP))

    def client(session: boto3.Session, service: str):
        return session.client(service, endpoint_url=url, config=CONFIG)

    role = f"arn:aws:iam::{SOURCE}:role/service-role/AWSBackupDefaultServiceRole"
    source_kms = client(source, "kms")
    source_key = source_kms.create_key(
        Policy=policy(
            {"Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "kms:*", "Resource": "*"},
            {
                "Principal": {"AWS": f"arn:aws:iam::{BACKUP}:root"},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
                "Resource": "*",
            },
        )
    )["KeyMetadata"]
    source_kms.create_alias(AliasName="alias/coffer/source-rds", TargetKeyId=source_key["KeyId"])
    print(f"source key {source_key['Arn']} (alias/coffer/source-rds)")

    backup_key = client(backup, "kms").create_key()["KeyMetadata"]
    backup_backup = client(backup, "backup")
    vault = backup_backup.create_backup_vault(BackupVaultName="coffer-central", EncryptionKeyArn=backup_key["Arn"])
    in_org = {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
    backup_backup.put_backup_vault_access_policy(
        BackupVaultName="coffer-central",
        Policy=policy({"Principal": "*", "Action": "backup:CopyIntoBackupVault", "Resource": "*", "Condition": in_org}),
    )
    print(f"backup vault {vault['BackupVaultArn']} with access policy")

    client(management, "backup").update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "true"})
    print("cross-account backup enabled by the management account")

    source_backup = client(source, "backup")
    source_backup.create_backup_vault(BackupVaultName="coffer-local")
    job = source_backup.start_backup_job(
        BackupVaultName="coffer-local", ResourceArn=f"arn:aws:rds:{REGION}:{SOURCE}:db:orders", IamRoleArn=role
    )
    done = wait(lambda: source_backup.describe_backup_job(BackupJobId=job["BackupJobId"]), "State")
    assert done["EncryptionKeyArn"] == source_key["Arn"], done
    print(f"backup job completed: {job['RecoveryPointArn']}")

    copy = source_backup.start_copy_job(
        RecoveryPointArn=job["RecoveryPointArn"],
        SourceBackupVaultName="coffer-local",
        DestinationBackupVaultArn=vault["BackupVaultArn"],
        IamRoleArn=role,
        Lifecycle={"DeleteAfterDays": 90},
    )
    copied = wait(lambda: source_backup.describe_copy_job(CopyJobId=copy["CopyJobId"])["CopyJob"], "State")
    print(f"copy job completed: {copied['DestinationRecoveryPointArn']}")

    restore = backup_backup.start_restore_job(
        RecoveryPointArn=copied["DestinationRecoveryPointArn"],
        Metadata={"DBInstanceIdentifier": "orders-restored"},
        IamRoleArn=f"arn:aws:iam::{BACKUP}:role/service-role/AWSBackupDefaultServiceRole",
        ResourceType="RDS",
    )
    restored = wait(lambda: backup_backup.describe_restore_job(RestoreJobId=restore["RestoreJobId"]), "Status")
    instance = client(backup, "rds").describe_db_instances(DBInstanceIdentifier="orders-restored")["DBInstances"][0]
    assert instance["KmsKeyId"] == backup_key["Arn"], instance
    print(f"restore job completed: {restored['CreatedResourceArn']} encrypted with {instance['KmsKeyId']}")
    print("smoke test passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: smoke.py http://127.0.0.1:PORT")
    main(sys.argv[1])
