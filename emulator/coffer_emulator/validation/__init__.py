"""Every request to Backup, KMS, Organizations, STS, IAM and RDS is validated against its botocore
input shape before moto sees it, as AWS validates a request before serving it.

1. **Decoding** (per protocol, into a structure shaped like the operation's input shape):

   * json (KMS, Organizations): the JSON body;
   * rest-json (Backup): URI labels of the model's ``requestUri`` template (moto's router over the
     botocore model, greedy ``{Name+}`` labels included), ``location: querystring`` members from
     the query string, ``location: header`` members from the headers, the rest from the JSON body;
   * query (STS, IAM, RDS): the form body and query string, un-flattened the way botocore's
     ``QuerySerializer`` flattens them (``Name.member.N``, the list member's ``locationName``
     such as RDS's ``Tags.Tag.N.Key``, flattened lists, ``Name.entry.N.key/value`` maps), with
     moto's own ``QueryParser`` made to keep every scalar as the text that was sent.

   Values that arrive as text (query parameters, URI labels, query strings, headers) are
   ``Text`` (``violations.py``); a Text integer, boolean, timestamp or blob that does not parse
   is a type error.

2. **Validation**: required members, types, ``min``/``max`` lengths of strings (UTF-16 code units,
   as Java counts them), blobs (bytes), lists and maps, ``min``/``max`` of numbers, ``pattern``
   (a Java regular expression, full-match as AWS applies it; translated for Python's ``re``,
   see ``patterns.python_pattern``; one that still does not compile is skipped, logged once on
   stderr) and ``enum``. Members the model does not know are ignored, as AWS ignores them.
   AWS Backup's ``CreatorRequestId`` rule, documented but absent from the model, is added
   (``documented.DOCUMENTED``), and so are the typed restore metadata values the emulator's
   restore jobs read (``documented.restore_metadata_violations``), so no string where a number
   goes can fail a job later.

3. **The answer** is each service's own (HTTP 400, the protocol's wire shape):

   * KMS: ``ValidationException`` with Coral's message, ``1 validation error detected: Value 'x'
     at 'keyId' failed to satisfy constraint: Member must have length less than or equal to
     2048`` (``N validation errors detected: ...; ...`` for several);
     [source: https://github.com/stelligent/mu/issues/382 (KMS.ValidationException, 'keyId')]
     [source: https://github.com/boto/boto3/issues/3428 (KMS, "Member must satisfy enum value set: [...]")]
   * STS and IAM: ``ValidationError`` (query XML error) with the same message, a missing member
     being ``Value null at 'x' failed to satisfy constraint: Member must not be null``;
     [source: https://github.com/zalando-stups/aws-credentials-service/issues/7 (STS, regular expression)]
     [source: https://github.com/newscorpaus/consigliere/issues/18 (STS, "2 validation errors detected", Value '')]
     [source: https://github.com/crossplane-contrib/provider-aws/issues/1986 (IAM ValidationError, length)]
     [source: https://github.com/pulumi/pulumi-aws/issues/2357 ("Value null at ... Member must not be null",
      nested paths 'rules.4.member.statement')]
     [source: https://github.com/massif-press/compcon/issues/1951 (a sensitive member's value is left out:
      "Value at 'username'")]
   * Organizations: ``InvalidInputException`` with the message of its reason and ``Reason``
     ``<REASON>:<MEMBER>`` (``INVALID_PATTERN:RESOURCE_ID``), one violation per answer;
     [source: https://github.com/openshift/osdctl/pull/204 (Message_ "You provided a value that does
      not match the required pattern.", Reason "INVALID_PATTERN:RESOURCE_ID")]
     [source: https://docs.aws.amazon.com/botocore/latest/reference/services/organizations/client/exceptions/InvalidInputException.html
      (the reasons and their texts)]
   * RDS: ``MissingParameter`` for a missing member, else ``InvalidParameterValue`` (query XML
     error); the messages are modelled on RDS's ``Invalid value 3412 for MaxRecords. Must be
     between 20 and 1000``;
     [source: https://docs.aws.amazon.com/redshift/latest/APIReference/CommonErrors.html (the codes, common
      to the query APIs)]
     [source: https://github.com/hashicorp/terraform-provider-aws/issues/37221 (RDS InvalidParameterValue message)]
   * Backup: ``MissingParameterValueException`` for a missing member, else
     ``InvalidParameterValueException`` with the Coral message (the emulator's wording: AWS
     Backup's own is not documented); the shape is ``backup/errors.py``'s;
     [source: https://github.com/aws/aws-cdk/issues/8685 (InvalidParameterValueException, Status Code 400)]
   * a JSON value of the wrong type in a json / rest-json body: ``SerializationException``,
     ``STRING_VALUE can not be converted to an Integer`` (Coral's deserializer, before any
     validation); [source: https://github.com/aws/aws-cdk/pull/27087]
     [source: https://github.com/pplu/aws-sdk-perl/issues/237 (the bare "SerializationException" __type)]
     A text value that does not parse is a validation error of the service in the emulator's
     wording (``Member must be an integer``).

Layout: ``decoding`` (1), ``validator`` with ``scalars``, ``patterns`` and ``documented`` (2),
``answers`` (3); ``violations`` is what they pass along.
"""

import sys
from typing import Any

from .. import wire
from .answers import Answer, answer, json_error_response
from .decoding import MalformedBody, decode
from .documented import DOCUMENTED, restore_metadata_violations
from .patterns import compiled_pattern, iter_patterns, python_pattern
from .validator import Validator

__all__ = [
    "DOCUMENTED",
    "VALIDATED_SERVICES",
    "Answer",
    "check",
    "compiled_pattern",
    "iter_patterns",
    "python_pattern",
]

VALIDATED_SERVICES = frozenset({"backup", "kms", "organizations", "sts", "iam", "rds"})


def check(call: wire.Call, environ: dict[str, Any]) -> Answer | None:
    """The service's validation error for an invalid request, else None (the call goes on).
    The body stays readable for moto. A failure of the validator itself lets the call through
    (logged on stderr): validation never turns a call into an HTTP 500."""
    if call.service not in VALIDATED_SERVICES:
        return None
    try:
        return _check(call, environ)
    except Exception as error:  # a validator bug must not break a valid call
        where = f"{call.service}:{call.operation}"
        print(f"coffer-emulator: request validation failed for {where}: {error!r}", file=sys.stderr)
        return None


def _check(call: wire.Call, environ: dict[str, Any]) -> Answer | None:
    model = wire.service_model(call.service)
    if model is None or call.operation not in model.operation_names:
        return None
    operation = model.operation_model(call.operation)
    if operation.input_shape is None:
        return None
    try:
        params = decode(call, environ, operation)
    except MalformedBody as error:
        return json_error_response(call, "SerializationException", str(error))
    validator = Validator(call.service)
    validator.check_structure(operation.input_shape, params, ())
    violations = validator.violations or restore_metadata_violations(call, params)
    if not violations:
        return None
    return answer(call, violations)
