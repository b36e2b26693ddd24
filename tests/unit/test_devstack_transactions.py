"""The local stack's DynamoDB transactions (devstack.aws): the same answers and the same table afterwards as
moto's own TransactWriteItems, for transactions that commit and for each way one is cancelled.

moto runs in-process here (``mock_aws``: no sockets); each scenario runs once with moto's own
implementation and once with the local stack's, on fresh state, and the two are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from devstack.aws import LOCAL_REGION, _rollback_touched_items_only

Scenario = Callable[[Any], None]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _tables(client: Any) -> None:
    client.create_table(
        TableName="records",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName="ranged",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name in ("b", "c", "d"):
        client.put_item(TableName="records", Item={"id": _s(name), "x": _s("before")})
    client.put_item(TableName="ranged", Item={"pk": _s("h"), "sk": _s("1"), "x": _s("before")})


def _put_new(name: str, table: str = "records") -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"id": _s(name), "x": _s("new")},
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }


def _update_b() -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "records",
            "Key": {"id": _s("b")},
            "UpdateExpression": "SET x = :v",
            "ExpressionAttributeValues": {":v": _s("updated")},
        }
    }


def _delete_c() -> dict[str, Any]:
    return {"Delete": {"TableName": "records", "Key": {"id": _s("c")}}}


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "all actions commit": [_put_new("a"), _update_b(), _delete_c()],
    "the last condition fails: nothing is written": [_put_new("a"), _update_b(), _delete_c(), _put_new("d")],
    "the first condition fails: nothing is written": [_put_new("d"), _put_new("a"), _update_b()],
    "a condition check fails": [
        _put_new("a"),
        {
            "ConditionCheck": {
                "TableName": "records",
                "Key": {"id": _s("b")},
                "ConditionExpression": "x = :v",
                "ExpressionAttributeValues": {":v": _s("something else")},
            }
        },
    ],
    "two actions on one item": [_put_new("a"), _update_b(), _put_new("a")],
    "a range-key table rolls back too": [
        {
            "Put": {
                "TableName": "ranged",
                "Item": {"pk": _s("h"), "sk": _s("2"), "x": _s("new")},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": "ranged",
                "Key": {"pk": _s("h"), "sk": _s("1")},
                "UpdateExpression": "SET x = :v",
                "ExpressionAttributeValues": {":v": _s("updated")},
            }
        },
        _put_new("b"),
    ],
    "an unknown table": [_put_new("a"), _put_new("z", table="no-such-table")],
}


def _outcome(transact_items: list[dict[str, Any]]) -> tuple[Any, ...]:
    """What a client sees of the transaction, and every item of both tables afterwards."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=LOCAL_REGION)
        _tables(client)
        try:
            client.transact_write_items(TransactItems=transact_items)
            answer: Any = "committed"
        except ClientError as e:
            answer = (e.response["Error"], e.response.get("CancellationReasons"))
        records = sorted(client.scan(TableName="records")["Items"], key=str)
        ranged = sorted(client.scan(TableName="ranged")["Items"], key=str)
    return answer, records, ranged


@pytest.fixture
def local_stack_transactions() -> tuple[Callable[..., None], Callable[..., None]]:
    _rollback_touched_items_only()
    patched = DynamoDBBackend.transact_write_items
    return getattr(patched, "__wrapped__"), patched  # noqa: B009 (set by devstack.aws)


@pytest.mark.unit
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_answer_and_same_tables_as_motos_own_transactions(
    scenario: str,
    local_stack_transactions: tuple[Callable[..., None], Callable[..., None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    motos, ours = local_stack_transactions
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", motos)
    expected = _outcome(SCENARIOS[scenario])
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", ours)
    assert _outcome(SCENARIOS[scenario]) == expected


@pytest.mark.unit
def test_scenarios_cover_commits_and_cancellations(
    local_stack_transactions: tuple[Callable[..., None], Callable[..., None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The comparison above means something only if moto's own answers differ across scenarios.
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", local_stack_transactions[0])
    answers = {str(_outcome(items)[0]) for items in SCENARIOS.values()}
    assert "committed" in answers
    assert any("TransactionCanceledException" in a for a in answers)
    assert any("ValidationException" in a for a in answers)


@pytest.mark.unit
def test_installing_twice_wraps_once() -> None:
    _rollback_touched_items_only()
    first = DynamoDBBackend.transact_write_items
    _rollback_touched_items_only()
    assert DynamoDBBackend.transact_write_items is first
    assert not hasattr(getattr(first, "__wrapped__"), "__wrapped__")  # noqa: B009
