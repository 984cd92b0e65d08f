"""The AWS Backup extension: the operations moto 5.2.5 lacks or gets wrong, on moto's Backup backend.

moto 5.2.5 implements plans (create/get/list/delete), vaults (create/describe/list/delete),
tags, vault lock put/delete and report plans, without idempotency, recovery points, jobs,
selections, access policies or global settings. This package serves all of them from one
backend class that moto instantiates per account and Region.

Layout, each layer importing only those above it:

* ``errors``, ``lifecycle``, ``models`` - Backup's errors, lifecycle rules and resources.
* ``state``      - other accounts' and Regions' Backup state, as jobs and copy rules read it.
* ``copy_rules`` - the ordered cross-account copy prerequisites, with their AWS sources.
* ``jobs``       - backup, copy and restore jobs, and how they run.
* ``vault_operations``, ``plan_operations``, ``settings_operations``, ``job_operations`` - the
  operations, assembled into one backend by ``operations``.
* ``responses``, ``urls`` - the HTTP handlers and their routes.
* ``backend``    - ``CofferBackupBackend``, the operations under their routes, which moto serves.
"""
