"""aelab.expview: the narrow `dvc exp show --only-changed` (known answers on the JSON shape
DVC 3 prints; tests/test_scale_out.py runs it on a real queue's experiments)."""

from __future__ import annotations

import io
import json

from aelab import expview


def _data(latent: int, mse: float, health: str = "ok") -> dict:
    return {"rev": "x", "timestamp": None, "deps": {"src/aelab": {"hash": "h"}},
            "params": {"params.yaml": {"data": {"seed": 0, "variants": {"digits_ae_z8": {"latent_dim": latent}}}}},
            "metrics": {"metrics/headline/digits_ae_z8.json": {"data": {"mse": mse, "psnr": 19.9, "health": health}},
                        "metrics/headline/digits_ae_z2.json": {"data": {"mse": 0.03}},
                        "metrics/headline/_studies.json": {"data": {"moons_mse": 0.0267}}}}


SHOW = [  # `dvc exp show --json`: the workspace, HEAD with two experiments, an older commit
    {"rev": "workspace", "name": None, "data": _data(8, 0.0120278), "error": None, "experiments": None},
    {"rev": "f8c6e795e5ed92a2089d9d93d56d2c03600ad1c1", "name": "main", "data": _data(8, 0.0120278),
     "error": None, "experiments": [
         {"name": "exp-aaaa1", "executor": None, "revs": [{"rev": "a" * 40, "name": "exp-aaaa1",
                                                           "data": _data(16, 0.00912345678), "error": None}]},
         {"name": None, "executor": None, "revs": [{"rev": "b" * 40, "name": None,
                                                    "data": _data(4, 0.02, "2 checks"), "error": None}]}]},
    {"rev": "4a2bfcd0000000000000000000000000000000000", "name": None, "data": _data(8, 0.0120278),
     "error": None, "experiments": None},
]


def test_rows_follow_dvc_order_and_name_headline_numbers_by_variant():
    rows = expview.rows_from_show(SHOW)
    assert [r.label for r in rows] == ["workspace", "main", "exp-aaaa1", "bbbbbbb", "4a2bfcd"]
    assert rows[2].values["variants.digits_ae_z8.latent_dim"] == 16
    assert rows[2].values["digits_ae_z8 mse"] == 0.00912345678
    assert rows[2].values["studies moons_mse"] == 0.0267
    assert "src/aelab" not in rows[2].values  # deps are DVC's table's business


def test_only_changed_quantities_params_first():
    rows = expview.rows_from_show(SHOW)
    assert expview.changed(rows) == ["variants.digits_ae_z8.latent_dim", "digits_ae_z8 health", "digits_ae_z8 mse"]
    same = [r for r in rows if r.label in ("workspace", "main")]
    assert expview.changed(same) == []
    assert expview.render(same, []).startswith("no param or metric differs between workspace, main")


def test_render_is_one_row_per_quantity_and_wraps_columns_to_the_width():
    rows = expview.rows_from_show(SHOW)
    text = expview.render(rows, expview.changed(rows), width=200)
    lines = text.splitlines()
    assert lines[0].split() == ["workspace", "main", "exp-aaaa1", "bbbbbbb", "4a2bfcd"]
    assert lines[2].split() == ["variants.digits_ae_z8.latent_dim", "8", "8", "16", "4", "8"]
    assert lines[4].split() == ["digits_ae_z8", "mse", "0.0120278", "0.0120278", "0.00912346", "0.02", "0.0120278"]
    assert max(map(len, lines)) <= 200
    narrow = expview.render(rows, expview.changed(rows), width=60).splitlines()
    assert max(map(len, narrow)) <= 60
    headers = [line.split() for line in narrow if line.startswith(" ")]
    assert sum(headers, []) == ["workspace", "main", "exp-aaaa1", "bbbbbbb", "4a2bfcd"]  # every column, once
    assert len(headers) > 1


def test_cli_reads_dvc_json_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(SHOW)))
    assert expview.main(["--json", "-", "--width", "200"]) == 0
    out = capsys.readouterr().out
    assert "digits_ae_z8 health" in out and "2 checks" in out and "studies moons_mse" not in out


def test_cli_passes_other_options_to_dvc_exp_show(monkeypatch, capsys):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        return type("Done", (), {"returncode": 0, "stdout": json.dumps([SHOW[0], {**SHOW[1], "experiments": None}]),
                                       "stderr": ""})()

    monkeypatch.setattr(expview.subprocess, "run", fake_run)
    assert expview.main(["-n", "3", "--width", "120", "-A"]) == 0
    assert seen["cmd"][1:] == ["exp", "show", "--json", "-n", "3", "-A"]
    assert capsys.readouterr().out.startswith("no param or metric differs between workspace, main")


def test_a_second_params_file_is_named_by_path_and_listed_with_the_params():
    show = [{"rev": "workspace", "name": None, "experiments": None, "data": {
                "params": {"params.yaml": {"data": {"seed": 0}}, "extra.yaml": {"data": {"lr": 0.1}}},
                "metrics": {"metrics/headline/a.json": {"data": {"mse": 0.5}}}}},
            {"rev": "c" * 40, "name": None, "experiments": None, "data": {
                "params": {"params.yaml": {"data": {"seed": 0}}, "extra.yaml": {"data": {"lr": 0.2}}},
                "metrics": {"metrics/headline/a.json": {"data": {"mse": 0.4}}}}}]
    rows = expview.rows_from_show(show)
    assert expview.changed(rows) == ["extra.yaml:lr", "a mse"]
