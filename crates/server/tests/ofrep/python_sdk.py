"""Evaluates cases.json through the OpenFeature Python SDK and its unchanged OFREP provider
against the Bunting at argv[1] (the provider's base URL); prints one JSON line per case."""
import json
import os
import sys

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

api.set_provider(OFREPProvider(sys.argv[1]))
client = api.get_client()
methods = {
    "boolean": client.get_boolean_details,
    "string": client.get_string_details,
    "number": client.get_integer_details,
    "object": client.get_object_details,
}
with open(os.path.join(os.path.dirname(__file__), "cases.json")) as cases:
    for case in json.load(cases):
        attributes = dict(case["context"])
        targeting_key = attributes.pop("targetingKey", None)
        context = EvaluationContext(targeting_key, attributes)
        details = methods[case["type"]](case["key"], case["default"], context)
        print(json.dumps({
            "key": case["key"],
            "value": details.value,
            "reason": str(details.reason.value if hasattr(details.reason, "value") else details.reason),
            "variant": details.variant,
            "errorCode": details.error_code.value if details.error_code else None,
        }))
