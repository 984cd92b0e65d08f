"""The AWS Backup extension: the operations moto 5.2.5 lacks or gets wrong, on moto's Backup backend.

moto 5.2.5 implements plans (create/get/list/delete), vaults (create/describe/list/delete),
tags, vault lock put/delete and report plans, without idempotency, recovery points, jobs,
selections, access policies or global settings. This package serves all of them from one
backend class that moto instantiates per account and Region.
"""
