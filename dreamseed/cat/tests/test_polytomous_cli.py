"""The simulate and calibrate command-line tools on polytomous and mixed banks."""

import csv
import json

import numpy as np
import pytest

from dreamseed.cat.adaptive_poly import simulate_scores
from dreamseed.cat.cli import calibrate as calibrate_cli
from dreamseed.cat.cli import simulate as simulate_cli

from .conftest import random_bank
from .test_polytomous_calibration import true_bank

MIXED_BANK = """id,model,a,b1,b2,b3,c,content
q1,GPCM,1.1,-0.8,0.2,1.1,,A
q2,GRM,0.9,-1.2,0.4,,,B
q3,3PL,1.3,0.5,,,0.2,A
q4,PCM,,-0.5,0.5,,,B
q5,2PL,1.0,0.0,,,,A
q6,GPCM,0.8,0.3,-0.2,,,B
"""


def simulate_main(args):
    return simulate_cli.main([str(a) for a in args])


def calibrate_main(args):
    return calibrate_cli.main([str(a) for a in args])


def write(path, text):
    path.write_text(text)
    return path


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def thetas_csv(tmp_path):
    thetas = np.random.default_rng(5).normal(size=20)
    return write(tmp_path / "thetas.csv", "theta\n" + "\n".join(f"{t:.4f}" for t in thetas))


def test_simulate_a_mixed_bank(tmp_path, thetas_csv, capsys):
    bank = write(tmp_path / "bank.csv", MIXED_BANK)
    out = tmp_path / "out.csv"
    status = simulate_main(
        [
            "--bank",
            bank,
            "--thetas",
            thetas_csv,
            "--max-items",
            "4",
            "--seed",
            "3",
            "--content-targets",
            "A=0.5,B=0.5",
            "--out",
            out,
        ]
    )
    assert status == 0
    rows = read_rows(out)
    assert len(rows) == 20 and all(row["n_items"] == "4" for row in rows)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["pool_items"] == 6 and summary["examinees"] == 20


def test_dichotomous_bank_in_the_mixed_format_simulates_identically(tmp_path, thetas_csv):
    params = random_bank(40, model="3PL", seed=8)
    plain = ["id,a,b,c"] + [f"q{i},{a},{b},{c}" for i, (a, b, c, _) in enumerate(params)]
    mixed = ["id,model,a,b1,c"] + [f"q{i},3PL,{a},{b},{c}" for i, (a, b, c, _) in enumerate(params)]
    outputs = []
    for name, lines in (("plain", plain), ("mixed", mixed)):
        bank = write(tmp_path / f"{name}.csv", "\n".join(lines) + "\n")
        out = tmp_path / f"{name}-out.csv"
        options = ["--bank", bank, "--thetas", thetas_csv, "--max-items", "10", "--seed", "4"]
        assert simulate_main([*options, "--out", out]) == 0
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("bank_text", "message"),
    [
        ("id,model,a,b1\nq1,NRM,1,0\n", "line 2, column 'model': unknown model 'NRM'"),
        (
            "id,model,a,b1,b2\nq1,GRM,1,0.5,-0.5\n",
            "line 2, column 'b1': GRM boundaries must be strictly increasing",
        ),
        ("id,model,a,b1,b2,b3\nq1,GPCM,1,0.5,,1\n", "line 2, column 'b2': empty threshold"),
        ("id,model,a,b1\nq1,GPCM,-1,0\n", "line 2, column 'a': discrimination a must be > 0"),
        ("id,model,a,b1\nq1,GPCM,1,x\n", "line 2, column 'b1': 'x' is not a number"),
        ("id,model,a\nq1,GPCM,1\n", "missing threshold columns"),
    ],
)
def test_simulate_bad_mixed_banks(tmp_path, thetas_csv, capsys, bank_text, message):
    bank = write(tmp_path / "bank.csv", bank_text)
    status = simulate_main(
        ["--bank", bank, "--thetas", thetas_csv, "--max-items", "3", "--out", tmp_path / "o.csv"]
    )
    assert status == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def mixed_responses(tmp_path):
    bank, models = true_bank(12, ["GPCM", "GRM", "2PL", "PCM"], seed=3)
    rng = np.random.default_rng(0)
    scores = simulate_scores(bank, rng.normal(0, 1, 600), rng)
    lines = ["person,item,response"]
    for p in range(600):
        for i in range(12):
            if rng.random() < 0.7:
                lines.append(f"s{p},i{i},{scores[p, i]}")
    responses = write(tmp_path / "resp.csv", "\n".join(lines) + "\n")
    model_lines = ["item,model"] + [f"i{i},{m}" for i, m in enumerate(models)]
    item_models = write(tmp_path / "models.csv", "\n".join(model_lines) + "\n")
    anchor_lines = ["id,model,a,b1,b2,b3"]
    for i in range(4, 12):
        thresholds = ",".join("" if np.isnan(v) else f"{v:.6f}" for v in bank.thresholds[i])
        anchor_lines.append(f"i{i},{models[i]},{bank.a[i]:.6f},{thresholds}")
    anchors = write(tmp_path / "anchors.csv", "\n".join(anchor_lines) + "\n")
    return bank, models, responses, item_models, anchors


def test_calibrate_a_mixed_bank_and_simulate_with_the_result(
    tmp_path, mixed_responses, thetas_csv, capsys
):
    bank, _, responses, item_models, _ = mixed_responses
    out = tmp_path / "params.csv"
    status = calibrate_main(["--responses", responses, "--item-models", item_models, "--out", out])
    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["items"] == 12 and summary["items_flagged"] == 0 and summary["converged"]
    rows = {row["item"]: row for row in read_rows(out)}
    assert rows["i0"]["model"] == "GPCM" and rows["i3"]["model"] == "PCM"
    assert float(rows["i3"]["a"]) == 1.0 and rows["i3"]["se_a"] == ""
    assert rows["i2"]["b2"] == "" and rows["i2"]["model"] == "2PL"
    assert abs(float(rows["i1"]["a"]) - bank.a[1]) < 0.3
    # The parameter file is a bank the simulator reads.
    again = simulate_main(
        ["--bank", out, "--thetas", thetas_csv, "--max-items", "5", "--out", tmp_path / "s.csv"]
    )
    assert again == 0


def test_calibrate_with_anchors_keeps_them_and_estimates_the_rest(
    tmp_path, mixed_responses, capsys
):
    bank, _, responses, item_models, anchors = mixed_responses
    out = tmp_path / "params.csv"
    status = calibrate_main(
        ["--responses", responses, "--item-models", item_models, "--anchors", anchors, "--out", out]
    )
    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["anchors"] == 8
    rows = {row["item"]: row for row in read_rows(out)}
    assert rows["i5"]["anchor"] == "yes" and rows["i0"]["anchor"] == ""
    assert float(rows["i5"]["a"]) == pytest.approx(bank.a[5], abs=1e-6)
    assert rows["i0"]["se_a"] != "" and rows["i5"]["se_a"] == ""


def test_calibrate_one_polytomous_model_for_all_items(tmp_path, mixed_responses, capsys):
    _, _, responses, _, _ = mixed_responses
    status = calibrate_main(
        ["--responses", responses, "--model", "GRM", "--out", tmp_path / "p.csv"]
    )
    assert status == 0
    assert "12 GRM" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("models_text", "message"),
    [
        ("item,model\ni0,GPCM\n", "no model for item(s)"),
        ("item,model\ni0,NRM\n", "line 2, column 'model': unknown model 'NRM'"),
        ("item,model,categories\ni0,GPCM,1\n", "column 'categories'"),
    ],
)
def test_calibrate_bad_item_models(tmp_path, mixed_responses, capsys, models_text, message):
    _, _, responses, _, _ = mixed_responses
    item_models = write(tmp_path / "m.csv", models_text)
    status = calibrate_main(
        ["--responses", responses, "--item-models", item_models, "--out", tmp_path / "p.csv"]
    )
    assert status == 2
    assert message in capsys.readouterr().err


def test_calibrate_bad_scores(tmp_path, capsys):
    responses = write(tmp_path / "r.csv", "person,item,response\na,i1,2\nb,i1,-1\n")
    status = calibrate_main(
        ["--responses", responses, "--model", "GPCM", "--out", tmp_path / "p.csv"]
    )
    assert status == 2
    assert "line 3, column 'response': '-1' is not a score" in capsys.readouterr().err


def test_calibrate_slope_prior_is_refused_for_polytomous_models(tmp_path, capsys):
    responses = write(tmp_path / "r.csv", "person,item,response\na,i1,2\nb,i1,0\n")
    status = calibrate_main(
        [
            "--responses",
            responses,
            "--model",
            "GPCM",
            "--slope-prior-sd",
            "0.5",
            "--out",
            tmp_path / "p.csv",
        ]
    )
    assert status == 2
    assert "--slope-prior-sd is for the 2PL/3PL calibration only" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_calibrate_needs_a_model(tmp_path, capsys):
    responses = write(tmp_path / "r.csv", "person,item,response\na,i1,1\n")
    with pytest.raises(SystemExit) as exit_info:
        calibrate_main(["--responses", responses, "--out", tmp_path / "p.csv"])
    assert exit_info.value.code == 2
    assert "give --model or --item-models" in capsys.readouterr().err
