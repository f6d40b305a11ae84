"""Collecting a sweep's summaries into Parquet and DuckDB."""

import json
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

from experiments.collect import NoRunsError, collect, collect_main


def write_summary(run_dir, seed, metrics, days=5, scenario="baseline", commit="abc123"):
    run_dir.mkdir(parents=True)
    summary = {"scenario": scenario, "site": "small", "seed": seed, "metrics": metrics,
               "config": {"seed": seed, "run": {"days": days, "warmup_days": 1}, "scenario": {"levers": {}}},
               "provenance": {"git_commit": commit}}
    (run_dir / "summary.json").write_text(json.dumps(summary))


def test_one_sorted_row_per_run_with_metrics_and_differing_config(tmp_path):
    write_summary(tmp_path / "b" / "1", 1, {"harm_exposure": 2.0, "prevalence": None}, days=6)
    write_summary(tmp_path / "a", 0, {"harm_exposure": 1.0, "prevalence": 0.5}, days=5)
    write_summary(tmp_path / "b" / "0", 2, {"harm_exposure": 3.0, "prevalence": 0.25, "extra": 7}, days=5)
    parquet, db = collect(tmp_path)

    table = pq.read_table(parquet).to_pydict()
    assert table["run_dir"] == ["a", "b/0", "b/1"]
    assert table["seed"] == [0, 2, 1]
    assert table["harm_exposure"] == [1.0, 3.0, 2.0]
    assert table["prevalence"] == [0.5, 0.25, None]  # NaN in a summary is null in the table
    assert table["extra"] == [None, 7.0, None]
    assert table["run.days"] == [5.0, 5.0, 6.0]
    assert "run.warmup_days" not in table and "scenario.levers" not in table  # same everywhere
    assert table["git_commit"] == ["abc123"] * 3
    assert list(table)[:4] == ["run_dir", "scenario", "site", "seed"]

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute('SELECT run_dir, "run.days", harm_exposure FROM runs').fetchall()
    assert rows == [("a", 5.0, 1.0), ("b/0", 5.0, 3.0), ("b/1", 6.0, 2.0)]
    con.close()
    assert not list(tmp_path.glob(".*tmp"))


def test_collecting_twice_gives_the_same_table(tmp_path):
    write_summary(tmp_path / "0", 0, {"harm_exposure": 1.0})
    first = pq.read_table(collect(tmp_path)[0])
    assert pq.read_table(collect(tmp_path)[0]).equals(first)


def test_missing_directory_or_no_summaries(tmp_path, capsys):
    with pytest.raises(NoRunsError, match="no such directory"):
        collect(tmp_path / "nope")
    with pytest.raises(NoRunsError, match="no summary.json"):
        collect(tmp_path)
    for argv in ([str(tmp_path / "nope")], [str(tmp_path)], []):
        with pytest.raises(SystemExit) as exit_info:
            collect_main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("preflight: error: ") and err.count("\n") == 1


def test_a_run_sweep_is_collected_at_its_end(tmp_path):
    sweep = tmp_path / "sweep"
    proc = subprocess.run([sys.executable, "-m", "preflight.cli", "run", "-m", "seed=0,1", "run.days=3,4",
                           "run.warmup_days=1", "run.progress=false", f"hydra.sweep.dir={sweep}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"collected 4 runs: {sweep / 'results.parquet'}" in proc.stdout
    table = pq.read_table(sweep / "results.parquet").to_pydict()
    assert table["run_dir"] == ["0", "1", "2", "3"]
    assert sorted(zip(table["seed"], table["run.days"])) == [(0, 3.0), (0, 4.0), (1, 3.0), (1, 4.0)]
    assert table["overrides"][0].startswith("seed=")
    assert all(v is not None for v in table["harm_exposure"])
    for run_dir, harm in zip(table["run_dir"], table["harm_exposure"]):
        summary = json.loads((sweep / run_dir / "summary.json").read_text())
        assert summary["metrics"]["harm_exposure"]["harm_exposure"] == harm  # (grouped by family)

    assert collect_main([str(sweep)]) is None  # by hand, same result
    assert pq.read_table(sweep / "results.parquet").to_pydict() == table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]


def test_a_malformed_summary_is_skipped_with_a_warning_and_a_count(tmp_path, capsys):
    write_summary(tmp_path / "0", 0, {"harm_exposure": 1.0})
    write_summary(tmp_path / "2", 2, {"harm_exposure": 3.0})
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "summary.json").write_text('{"metrics": {"harm_exposure": 2.0')  # a job killed mid-write
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "summary.json").write_text("[1, 2]")  # JSON, but not a summary
    collect_main([str(tmp_path)])
    table = pq.read_table(tmp_path / "results.parquet").to_pydict()
    assert table["run_dir"] == ["0", "2"] and table["harm_exposure"] == [1.0, 3.0]
    captured = capsys.readouterr()
    assert str(tmp_path / "1" / "summary.json") in captured.err and str(tmp_path / "3" / "summary.json") in captured.err
    assert "skipped 2 malformed summary.json of 4" in captured.err
    assert "collected 2 runs" in captured.out


def test_only_malformed_summaries_is_no_runs(tmp_path, capsys):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "summary.json").write_text("{")
    with pytest.raises(SystemExit) as info:
        collect_main([str(tmp_path)])
    assert info.value.code == 2
    assert "no readable summary.json" in capsys.readouterr().err
    assert not (tmp_path / "results.parquet").exists()
