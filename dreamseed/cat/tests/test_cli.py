"""The simulate and calibrate command-line tools, on small temporary files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dreamseed.cat.cli import calibrate as calibrate_cli
from dreamseed.cat.cli import simulate as simulate_cli

from .conftest import random_bank
from .test_calibration import simulate_responses

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_module(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def bank_csv(tmp_path):
    params = random_bank(60, model="3PL", seed=4)
    lines = ["id,a,b,c,content"] + [
        f"q{i},{a:.4f},{b:.4f},{c:.4f},{'AB'[i % 2]}" for i, (a, b, c, _) in enumerate(params)
    ]
    return write(tmp_path / "bank.csv", "\n".join(lines) + "\n")


@pytest.fixture
def thetas_csv(tmp_path):
    thetas = np.random.default_rng(5).normal(size=25)
    return write(tmp_path / "thetas.csv", "theta\n" + "\n".join(f"{t:.4f}" for t in thetas))


def test_simulate_writes_one_row_per_examinee_and_a_json_summary(tmp_path, bank_csv, thetas_csv):
    out = tmp_path / "out.csv"
    done = run_module(
        "dreamseed.cat.cli.simulate",
        "--bank",
        bank_csv,
        "--thetas",
        thetas_csv,
        "--max-items",
        10,
        "--min-items",
        4,
        "--se-target",
        0.45,
        "--estimator",
        "eap",
        "--selector",
        "randomesque:3",
        "--seed",
        7,
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"rmse", "bias", "mean_items", "max_exposure", "ms_per_step"} <= set(summary)
    assert 4 <= summary["mean_items"] <= 10
    rows = out.read_text().splitlines()
    assert rows[0] == "examinee,true_theta,theta,se,n_items"
    assert len(rows) == 26


def test_simulate_bad_csv_exits_2_naming_line_and_column(tmp_path, thetas_csv):
    bank = write(tmp_path / "bank.csv", "a,b,c\n1.0,0.0,0.2\n1.2,oops,0.2\n")
    done = run_module(
        "dreamseed.cat.cli.simulate",
        "--bank",
        bank,
        "--thetas",
        thetas_csv,
        "--max-items",
        5,
        "--out",
        tmp_path / "out.csv",
    )
    assert done.returncode == 2
    assert "line 3, column 'b': 'oops' is not a number" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("bank_text", "message"),
    [
        ("a,b\n1,0\n", "line 1: missing column(s) 'c'"),
        (
            "a,b,c\n1,0,0\n-1,0.5,0.1\n",
            "line 3, column 'a': a = -1.0: discrimination a must be > 0",
        ),
        ("a,b,c\n1,0,1.2\n", "line 2, column 'c': c = 1.2: guessing c must be in [0, 1)"),
        ("a,b,c\n1,0\n", "line 2: expected 3 fields like the header, found 2"),
        ("a,b,c\n1,,0\n", "line 2, column 'b': empty value"),
        ("a,b,c\n1,nan,0\n", "line 2, column 'b': 'nan' is not a finite number"),
        ("a,b,c\n", "no data rows after the header"),
        ("", "the file is empty"),
        ("a,b,c,d\n1,0,0.3,0.2\n", "line 2, column 'd': d = 0.2: upper asymptote"),
        ("id,a,b,c\nx,1,0,0\nx,1,1,0\n", "item id 'x' appears more than once"),
    ],
)
def test_simulate_bad_banks(tmp_path, thetas_csv, capsys, bank_text, message):
    bank = write(tmp_path / "bank.csv", bank_text)
    argv = ["--bank", str(bank), "--thetas", str(thetas_csv), "--max-items", "5"]
    code = simulate_cli.main([*argv, "--out", str(tmp_path / "out.csv")])
    assert code == 2
    error = capsys.readouterr().err
    assert message in error
    assert str(bank) in error


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--selector", "fastest"], "unknown selector 'fastest'"),
        (["--selector", "randomesque:x"], "randomesque:K needs an integer K"),
        (["--min-items", "9"], "min_items (9) cannot exceed max_items (5)"),
        (["--content-targets", "A=0.7,B=0.7"], "content targets must sum to 1"),
        (["--content-targets", "A"], "content targets must look like area=0.5"),
    ],
)
def test_simulate_bad_options(tmp_path, bank_csv, thetas_csv, capsys, options, message):
    argv = ["--bank", str(bank_csv), "--thetas", str(thetas_csv), "--max-items", "5", *options]
    assert simulate_cli.main([*argv, "--out", str(tmp_path / "out.csv")]) == 2
    assert message in capsys.readouterr().err


def test_simulate_sympson_hetter_reads_exposure_parameters(tmp_path, thetas_csv, capsys):
    bank = write(
        tmp_path / "bank.csv",
        "a,b,c,exposure_k\n" + "\n".join(f"1.0,{b / 10:.1f},0.0,0.5" for b in range(-20, 20)),
    )
    out = tmp_path / "out.csv"
    argv = ["--bank", str(bank), "--thetas", str(thetas_csv), "--max-items", "8"]
    assert simulate_cli.main([*argv, "--selector", "sympson-hetter", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["mean_items"] == 8 and summary["max_exposure"] < 1.0


def test_simulate_missing_thetas_file(tmp_path, bank_csv, capsys):
    argv = ["--bank", str(bank_csv), "--thetas", str(tmp_path / "none.csv"), "--max-items", "5"]
    assert simulate_cli.main([*argv, "--out", str(tmp_path / "out.csv")]) == 2
    assert "none.csv: file not found" in capsys.readouterr().err


@pytest.fixture
def responses_csv(tmp_path):
    rng = np.random.default_rng(8)
    truth = random_bank(12, model="2PL", seed=8)
    person, item, response = simulate_responses(truth, 400, per_person=8, seed=9)
    lines = ["person,item,response"] + [
        f"s{p},i{i + 1:02d},{r}" for p, i, r in zip(person, item, response, strict=True)
    ]
    lines += ["s0,i99,1", "s1,i99,0"]  # an item with too few responses
    rng.shuffle(lines[1:])
    return write(tmp_path / "resp.csv", "\n".join(lines) + "\n")


def test_calibrate_writes_parameters_flags_and_a_json_summary(tmp_path, responses_csv):
    out = tmp_path / "params.csv"
    done = run_module(
        "dreamseed.cat.cli.calibrate", "--responses", responses_csv, "--model", "2PL", "--out", out
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"iterations", "loglik", "seconds", "items_flagged"} <= set(summary)
    assert summary["items_flagged"] == 1 and summary["flagged_items"] == ["i99"]
    rows = out.read_text().splitlines()
    assert rows[0] == "item,a,b,c,d,se_a,se_b,se_c,flag,n_responses"
    assert rows[1].startswith("i01,") and rows[-1] == "i99,,,,,,,,too_few_responses,2"
    # The output is a valid bank for the simulator (flagged items are skipped).
    thetas = write(tmp_path / "thetas.csv", "theta\n0.5\n-0.5\n")
    code = simulate_cli.main(
        [
            "--bank",
            str(out),
            "--thetas",
            str(thetas),
            "--max-items",
            "5",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    assert code == 0


def test_calibrate_bad_csv_exits_2_naming_line_and_column(tmp_path):
    bad = write(tmp_path / "resp.csv", "person,item,response\np1,i1,1\np1,i2,yes\n")
    done = run_module(
        "dreamseed.cat.cli.calibrate",
        "--responses",
        bad,
        "--model",
        "1PL",
        "--out",
        tmp_path / "o.csv",
    )
    assert done.returncode == 2
    assert "line 3, column 'response': 'yes' is not a response: use 0 or 1" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("person,item\np,i\n", "line 1: missing column(s) 'response'"),
        (
            "person,item,response\np,i,1\np,j,0\np,i,0\n",
            "line 4, column 'item': person 'p' answered item 'i' twice (first on line 2)",
        ),
        ("person,item,response\np,,1\n", "line 2, column 'item': empty value"),
    ],
)
def test_calibrate_bad_files(tmp_path, capsys, text, message):
    bad = write(tmp_path / "resp.csv", text)
    code = calibrate_cli.main(
        ["--responses", str(bad), "--model", "2PL", "--out", str(tmp_path / "o.csv")]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_calibrate_3pl_in_process(tmp_path, responses_csv, capsys):
    out = tmp_path / "params.csv"
    code = calibrate_cli.main(
        ["--responses", str(responses_csv), "--model", "3PL", "--out", str(out)]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model"] == "3PL" and summary["items"] == 13
