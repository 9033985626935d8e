"""Print every method's loss terms, from NumPy-set weights, as JSON (one backend per run).

Run by tests/test_methods.py under KERAS_BACKEND=torch to compare with the backend
under test."""

import json
import sys

import method_cases as mc

from kdzoo import Distiller, get_method


def probe() -> dict:
    out = {}
    x, y = mc.batch(0)
    for name, case in mc.CASES.items():
        method = (
            get_method(name, **case["config"], mlm_probability=0.0)
            if name == "distilbert"
            else get_method(name, **case["config"])
        )
        for stage in mc.STAGES[name]:
            teacher, student = mc.models(name)
            d = Distiller(method, teacher, student, stage=stage, seq_length=mc.LENGTH, seed=0)
            mc.set_weights_from_numpy(teacher, student, *d.aux_layers.values())
            d.compile(optimizer="sgd")
            res = d.evaluate(mc.inputs(name, x), y, batch_size=mc.N, verbose=0, return_dict=True)
            out[f"{name}/{stage}"] = {k: float(v) for k, v in res.items()}
    return out


if __name__ == "__main__":
    json.dump(probe(), sys.stdout)
