"""Coffer's local AWS emulator: moto server plus the AWS Backup operations moto lacks.

Layout:

* ``server``     - launcher: binds 127.0.0.1, prints the ready line, stops on SIGTERM/SIGINT.
* ``middleware`` - WSGI layer in front of moto: admin API, account resolution, faults, request log.
* ``wire``       - reads service / operation / region / access key off a signed request, and
                   renders protocol-correct error responses.
* ``faults``     - throttling and latency injection (seeded RNG) and the per-account request log.
* ``admin``      - the unsigned ``/_coffer/`` admin HTTP API.
* ``world``      - world files: organization, accounts, roles, keys, RDS instances, vaults.
* ``keys``       - KMS look-ups shared by the extensions (aliases, AWS managed keys).
* ``orgs``       - Organizations look-ups (which org an account is in, its OU path).
* ``policy``     - the small IAM policy evaluator used for vault access and key policies.
* ``validation`` - every request checked against botocore's service model, refused as AWS does.
* ``backup``     - the Backup backend extension (models, operations, jobs and the ordered
                   cross-account copy rules, HTTP handlers).
* ``patches``    - the few places where moto itself is patched, all in one module.
* ``clock``      - emulator time (real time plus an offset the admin API can advance).
"""
