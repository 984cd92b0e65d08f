"""An out-of-band change for the demo: turn cross-account backup off in the management account
and key rotation off on the source key, as someone with console access might."""

import sys

import boto3

endpoint = sys.argv[1]
region = "eu-west-1"


def client(service: str, account: str):
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region, aws_access_key_id="demo", aws_secret_access_key="demo")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/CofferDeployRole", RoleSessionName="console-user")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


client("backup", "100200300400").update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "false"})
kms = client("kms", "111222333444")
key = next(a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/coffer/source-rds")
kms.disable_key_rotation(KeyId=key)
print(f"turned off cross-account backup in 100200300400 and rotation of key {key} in 111222333444")
