"""Reads a checkpoint from tests/safetensors_writer.cc with the PyPI `safetensors` package.

Checks that Python sees the same names, shapes, dtype, values and metadata the C++ side wrote:
element i of the flat buffer (parameters concatenated in colony.flat_order) is (i mod 997)/100.
Usage: check_safetensors.py FILE
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(path):
    tensors = load_file(path)
    with safe_open(path, framework="np") as f:
        metadata = f.metadata()
    config = json.loads(metadata["colony.config"])
    order = metadata["colony.flat_order"].split(",")
    assert metadata["colony.version"] == "7", metadata["colony.version"]
    assert sorted(order) == sorted(tensors), (sorted(order), sorted(tensors))
    d, obs, actions = config["d_model"], config["obs_dim"], config["num_actions"]
    expected_shapes = {
        "embedding.weight": (d, obs),
        "embedding.bias": (d,),
        "blocks.0.attn_gate.bias": (d,),
        "blocks.1.ff_in.weight": (config["d_ff"], d),
        "blocks.1.content_bias": (config["heads"], d // config["heads"]),
        "policy_head.weight": (actions, d),
        "value_head.weight": (1, d),
    }
    for name, shape in expected_shapes.items():
        assert tensors[name].shape == shape, (name, tensors[name].shape, shape)
    for name, t in tensors.items():
        assert t.dtype == np.float32, (name, t.dtype)
    flat = np.concatenate([tensors[name].reshape(-1) for name in order])
    want = (np.arange(flat.size, dtype=np.float64) % 997 / 100.0).astype(np.float32)
    assert np.array_equal(flat, want), float(np.abs(flat - want).max())
    print(f"ok: {len(tensors)} tensors, {flat.size} parameters, version 7, config {config}")


if __name__ == "__main__":
    main(sys.argv[1])
