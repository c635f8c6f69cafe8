"""The smoke-test tool's own logic, without a server: generated requests and output checks."""

from __future__ import annotations

import pytest

from kserve_triton.smoke import SmokeCheckError, check_outputs, target_from_url, zeros_request

METADATA = {
    "inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [-1, 3, 32, 32]}],
    "outputs": [{"name": "OUTPUT__0", "datatype": "FP32", "shape": [-1, 10]}],
}


def test_zeros_request_follows_the_metadata():
    (tensor,) = zeros_request(METADATA)["inputs"]
    assert (tensor["name"], tensor["shape"], tensor["datatype"]) == ("INPUT__0", [1, 3, 32, 32], "FP32")
    assert tensor["data"] == [0] * 3072


def test_zeros_request_refuses_datatypes_it_cannot_make():
    with pytest.raises(SmokeCheckError, match="pass --request"):
        zeros_request({"inputs": [{"name": "x", "datatype": "BF16", "shape": [1]}]})


def test_outputs_matching_the_metadata_pass():
    outputs = [{"name": "OUTPUT__0", "datatype": "FP32", "shape": [1, 10], "data": [0.0] * 10}]
    assert check_outputs(outputs, METADATA, None) == "OUTPUT__0 FP32[1, 10]"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ({"name": "OUTPUT__0", "datatype": "FP32", "shape": [1, 5], "data": [0.0] * 5}, "wrong output shape"),
        ({"name": "OUTPUT__0", "datatype": "INT64", "shape": [1, 10], "data": [0] * 10}, "datatype INT64"),
        ({"name": "OUTPUT__0", "datatype": "FP32", "shape": [1, 10], "data": [0.0] * 9}, "9 values"),
        ({"name": "LOGITS", "datatype": "FP32", "shape": [1, 10], "data": [0.0] * 10}, "missing"),
    ],
)
def test_outputs_that_disagree_with_the_metadata_fail(output, reason):
    with pytest.raises(SmokeCheckError, match=reason):
        check_outputs([output], METADATA, None)


def test_grpc_and_metrics_default_to_the_runtimes_ports_on_the_same_host():
    target = target_from_url("http://10.0.0.5:8080", None, None)
    assert (target.grpc_address, target.metrics_url) == ("10.0.0.5:9000", "http://10.0.0.5:8002/metrics")
