"""Two of moto's per-call costs, paid once instead of on every call (patched once per process).

With the app's handlers in worker processes, the embedded DynamoDB is most of what the
stack's own process spends per ticket, and a profile put two things on top:

- Condition and filter expressions are lexed and parsed again on every call (~15% of
  that process's CPU: a ticket's transaction has three conditions). The app sends a
  handful of expressions, most with new values each time (a ticket number, the time).
  The parse tree is kept per expression shape (text, names, which values), and each
  call puts its own values into a copy of it: moto builds its condition from that
  exactly as from a fresh parse. A shape seen for the first time is parsed (and
  checked) in full.
- Every result is walked to turn its attribute values into JSON dicts (`dynamo_to_dict`)
  with an isinstance/hasattr chain per value, strings included (~8%). The walk here
  does the same with one type test per value.
"""

import functools
import threading
from datetime import datetime

from moto.dynamodb import comparisons, responses
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models import utilities
from moto.dynamodb.models.dynamo_type import DynamoType

SHAPES_KEPT = 512
_Parser = comparisons.ConditionExpressionParser
_VALUE = _Parser.Kind.EXPRESSION_ATTRIBUTE_VALUE


class _KeepingTree(_Parser):
    """moto's parser, remembering the tree its condition was made from."""

    tree = None

    def _make_op_condition(self, node):
        if self.tree is None:
            self.tree = node
        return super()._make_op_condition(node)


def _with_values(node, values: dict):
    if node.kind == _VALUE:
        return node._replace(value=values[node.text])
    if not node.children:
        return node
    return node._replace(children=[_with_values(child, values) for child in node.children])


def _cached_conditions(parse):
    trees: dict = {}
    lock = threading.Lock()

    def get_filter_expression(expr, names, values):
        if not expr:
            return parse(expr, names, values)
        try:
            shape = (expr, tuple(sorted(names.items())) if names else (),
                     tuple(sorted(values)) if values else ())
        except (AttributeError, TypeError):
            return parse(expr, names, values)
        tree = trees.get(shape)
        if tree is None:
            parser = _KeepingTree(expr, names, values)
            op = parser.parse()
            if parser.tree is not None:
                with lock:
                    if len(trees) >= SHAPES_KEPT:
                        trees.pop(next(iter(trees)))
                    trees[shape] = parser.tree
            return op
        return _Parser(expr, names, values)._make_op_condition(_with_values(tree, values or {}))

    return get_filter_expression


def _dynamo_to_dict(obj):
    """moto's `dynamo_to_dict`, the common types first."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or kind is float or obj is None:
        return obj
    if kind is dict:
        return {k: _dynamo_to_dict(v) for k, v in obj.items()}
    if kind is list:
        return [_dynamo_to_dict(v) for v in obj]
    if kind is DynamoType and obj.type not in ("B", "BS"):
        return {obj.type: _dynamo_to_dict(obj.value)}
    if isinstance(obj, datetime) or isinstance(obj, DynamoType):
        return _original_dynamo_to_dict(obj)
    if hasattr(obj, "to_json"):
        return _dynamo_to_dict(obj.to_json())
    if isinstance(obj, dict):
        return {k: _dynamo_to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_dynamo_to_dict(v) for v in obj]
    return obj


_original_dynamo_to_dict = utilities.dynamo_to_dict


@functools.cache
def install() -> None:
    cached = _cached_conditions(comparisons.get_filter_expression)
    for module in (comparisons, dynamodb_models, table_module):
        module.get_filter_expression = cached
    responses.dynamo_to_dict = _dynamo_to_dict
