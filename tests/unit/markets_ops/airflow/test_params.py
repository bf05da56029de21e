from __future__ import annotations

import pytest
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from include.markets_ops.airflow import params


def _validated(values: dict) -> dict:
    spec = ParamsDict(
        params.common_params(shards=params.shards_param(4), model_version=params.model_version_param("v"))
    )
    spec.update(values)
    return spec.validate()


def test_defaults_are_valid() -> None:
    assert _validated({}) == {"business_date": None, "dry_run": False, "shards": 4, "model_version": None}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"business_date": "30/10/2026"}, "business_date"),
        ({"business_date": "2026-02-30"}, "business_date"),
        ({"shards": 0}, "shards"),
        ({"shards": 65}, "shards"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"model_version": "latest"}, "model_version"),
    ],
)
def test_invalid_values_are_refused_naming_the_param(values: dict, message: str) -> None:
    with pytest.raises(ParamValidationError, match=message):
        _validated(values)


def test_a_valid_business_date_is_accepted() -> None:
    assert _validated({"business_date": "2026-10-30"})["business_date"] == "2026-10-30"
