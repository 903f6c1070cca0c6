"""Sweep: determinism across schedulers (serial, process pool, Dask), resume after a kill,
aggregation (Table I), CLI ``run``/``reproduce`` (paper Section IV-C/D)."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from crowd_sft.sweep import SweepConfig, replay_run, run_sweep, simulate_unit, summarize, table_one
from crowd_sft.tournament import make_instance, run_tournament

from .conftest import SMALL_SWEEP as SMALL

FILES = ("runs.csv", "runs.json", "summary.csv", "summary.json", "table1.md", "table1.json", "config.json")


def _read(out):
    return {f: (Path(out) / f).read_bytes() for f in FILES}


@pytest.fixture
def serial_out(small_sweep):
    return small_sweep          # tests/crowd_sft/conftest.py: one serial sweep of SMALL with figures


def test_serial_sweep_writes_everything(serial_out):
    out, res = serial_out
    for f in FILES + ("fig6.png", "fig7.png", "fig8.png"):
        assert (out / f).stat().st_size > 0
    assert len(res.rows) == 2 * 2 * 9 * 4
    assert len(res.summary) == 2 * 2 * 9
    rows = json.loads((out / "runs.json").read_text())
    assert [r["run"] for r in rows[:4]] == [0, 1, 2, 3]
    t1 = json.loads((out / "table1.json").read_text())
    assert t1["settings"] == 4 and sum(r["wins"] for r in t1["best_final_distance"]) == 4


def test_process_pool_and_dask_are_bit_identical(serial_out, tmp_path):
    out, _ = serial_out
    run_sweep(SweepConfig(**SMALL), tmp_path / "pool", n_jobs=2, figures=False)
    assert _read(tmp_path / "pool") == _read(out)
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        run_sweep(SweepConfig(**SMALL), tmp_path / "dask", scheduler=client, figures=False)
        run_sweep(SweepConfig(**SMALL), tmp_path / "dask_addr", scheduler=cluster.scheduler_address, figures=False)
    assert _read(tmp_path / "dask") == _read(out)
    assert _read(tmp_path / "dask_addr") == _read(out)


def test_rerun_resumes_and_skips_finished_chunks(serial_out):
    out, res = serial_out
    again = run_sweep(SweepConfig(**SMALL), out, n_jobs=1, figures=False)
    assert again.computed_chunks == 0 and again.skipped_chunks == 4
    assert _read(out)["runs.csv"] == (out / "runs.csv").read_bytes()


def test_resume_after_sigkill_gives_identical_files(serial_out, tmp_path, capsys):
    from crowd_sft.__main__ import main

    out, _ = serial_out
    cmd = [sys.executable, "-m", "crowd_sft", "reproduce", "--users", "8,12", "--groups", "2,3", "--runs", "4",
           "--rounds", "30", "--jobs", "1", "--no-figures", "--out", str(tmp_path / "k")]
    # chunk_runs must match SMALL for the same parts; the CLI default is 5 -> 1 chunk per n; that is fine:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts = tmp_path / "k" / "parts"
    deadline = time.time() + 60
    while time.time() < deadline and not list(parts.glob("*/n*.json")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(parts.glob("*/n*.json")))
    assert done_before >= 1
    # resume and the uninterrupted reference in-process (the same main() the subprocess runs)
    assert main(cmd[3:]) == 0
    assert "resumed" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    assert main(cmd[3:-1] + [str(fresh)]) == 0
    for f in FILES:
        assert (tmp_path / "k" / f).read_bytes() == (fresh / f).read_bytes(), f
    # and the numbers are the same as the in-process sweep with another chunking
    assert (fresh / "runs.csv").read_bytes() == (out / "runs.csv").read_bytes()


def test_sigint_on_a_process_pool_keeps_finished_parts(tmp_path, capsys):
    from crowd_sft.__main__ import main

    # the accurate estimator keeps the resumed run short; the interrupt path is the same for every estimator
    cmd = [sys.executable, "-m", "crowd_sft", "reproduce", "--users", "30,40", "--groups", "2,3", "--runs", "20",
           "--rounds", "30", "--jobs", "2", "--no-figures", "--shapley", "mc", "--out", str(tmp_path / "i")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    parts = tmp_path / "i" / "parts"
    deadline = time.time() + 60
    while time.time() < deadline and not list(parts.glob("*/n*.json")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err  # 8 chunks of ~0.3 s: the signal arrives long before the end
    assert len(err.strip().splitlines()) == 1 and "resume" in err
    kept = sorted(p.name for p in parts.glob("*/n*.json"))
    assert kept and not list(parts.glob("*/*.tmp*"))
    # the resumed run in-process and serially: which chunks are skipped does not depend on the scheduler
    assert main(cmd[3:cmd.index("--jobs") + 1] + ["1"] + cmd[cmd.index("--jobs") + 2:]) == 0
    assert f"{len(kept)} resumed" in capsys.readouterr().out


def test_replay_matches_sweep_row_and_direct_call(serial_out):
    _, res = serial_out
    cfg = SweepConfig(**SMALL)
    rec = replay_run(cfg, 12, 3, "interleaved", "dot", 2)
    row = next(r for r in res.rows if (r["n"], r["m"], r["grouping"], r["evaluation"], r["run"]) == (12, 3, "interleaved", "dot", 2))
    assert rec.scalars() == row or all(
        (a == b) or (isinstance(a, float) and np.isnan(a) and np.isnan(b)) for a, b in zip(rec.scalars().values(), row.values()))
    # the same run through the public API with the documented seed keys (independent draws:
    # (n, run, 0 | 1, m, grouping index, evaluation index))
    inst = make_instance(12, np.random.SeedSequence(0, spawn_key=(12, 2, 0, 3, 2, 2)))
    direct = run_tournament(inst.users, inst.expert, inst.x0, n_groups=3, grouping="interleaved", evaluation="dot",
                            rounds=30, seed=np.random.SeedSequence(0, spawn_key=(12, 2, 1, 3, 2, 2)))
    np.testing.assert_array_equal(direct.points, rec.points)
    assert direct.final_distance == rec.final_distance


def test_paired_design_shares_instance_and_shapley_across_m_and_grouping():
    cfg = SweepConfig(users=(10,), groups=(2, 3), runs=1, rounds=20, paired=True)
    recs = simulate_unit(cfg, 10, 0, keep_vectors=True)
    by_eval = {}
    for r in recs:
        by_eval.setdefault(r.evaluation, []).append(r)
        assert r.start_distance == recs[0].start_distance and r.expert_user_id == recs[0].expert_user_id
    for rs in by_eval.values():
        for r in rs:
            np.testing.assert_array_equal(r.shapley, rs[0].shapley)
    unpaired = simulate_unit(SweepConfig(users=(10,), groups=(2, 3), runs=1, rounds=20, paired=False), 10, 0)
    assert len({r.start_distance for r in unpaired}) > 1


def test_small_n_shapley_is_exact_and_efficient():
    cfg = SweepConfig(users=(9,), groups=(2,), runs=1, rounds=10)
    rec = replay_run(cfg, 9, 2, "random", "l2", 0)
    inst = make_instance(9, np.random.SeedSequence(0, spawn_key=(9, 0, 0, 2, 0, 0)))  # (n, run, 0, m, g, e)
    # efficiency: sum of Shapley values = v(N) - v(empty)
    vN = -np.linalg.norm(inst.users.mean(axis=0) - inst.expert)
    v0 = -np.linalg.norm(inst.expert)
    assert rec.shapley.sum() == pytest.approx(vN - v0, rel=1e-10)


def test_pearson_and_spearman_per_run_match_scipy():
    cfg = SweepConfig(users=(30,), groups=(3,), runs=1, rounds=40)
    for g, e in (("random", "l2"), ("interleaved", "dot"), ("epsilon-greedy", "l1")):
        rec = replay_run(cfg, 30, 3, g, e, 0)
        assert rec.pearson == pytest.approx(scipy.stats.pearsonr(rec.points, rec.shapley)[0], abs=1e-12)
        assert rec.spearman == pytest.approx(scipy.stats.spearmanr(rec.points, rec.shapley)[0], abs=1e-12)


def test_table_one_counts_winners():
    summary = []
    for n in (10, 20):
        for m in (2, 3):
            for g, e, d, p in (("random", "l2", 1.0, 0.5), ("random", "dot", 2.0, 0.9), ("interleaved", "l1", 3.0, float("nan"))):
                summary.append({"n": n, "m": m, "grouping": g, "evaluation": e, "final_distance_mean": d + (n == 20),
                                "pearson_mean": p if m == 2 else 1 - p})
    t = table_one(summary)
    assert t["best_final_distance"] == [{"pair": "random/l2", "wins": 4, "percent": 100.0}]
    assert t["best_pearson"] == [{"pair": "random/dot", "wins": 2, "percent": 50.0},
                                 {"pair": "random/l2", "wins": 2, "percent": 50.0}]


def test_summary_means_and_standard_errors():
    rows = [dict(n=5, m=2, grouping="random", evaluation="l2", run=k, expert_user_id=1, start_distance=1.0,
                 final_distance=float(k), converged_round=None if k < 2 else k, n_updates=k, pearson=float("nan") if k == 0 else 0.5,
                 spearman=0.1 * k) for k in range(4)]
    s = summarize(rows)[0]
    assert s["final_distance_mean"] == 1.5
    assert s["final_distance_se"] == pytest.approx(np.std([0, 1, 2, 3], ddof=1) / 2)
    assert s["pearson_n"] == 3 and s["pearson_mean"] == 0.5
    assert s["converged_fraction"] == 0.5 and s["converged_round_mean"] == 2.5


def test_cli_run_json(capsys):
    from crowd_sft.__main__ import main

    assert main(["run", "--users", "10", "--groups", "3", "--grouping", "epsilon-greedy", "--eval", "l1", "--runs", "3",
                 "--seed", "5", "--rounds", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["runs"]) == 3
    for k in ("final_distance", "start_distance", "converged_round", "points", "shapley", "pearson", "spearman",
              "expert_user_id"):
        assert k in out["runs"][0]
    assert len(out["runs"][0]["points"]) == 10
    assert out["summary"]["final_distance_mean"] == pytest.approx(np.mean([x["final_distance"] for x in out["runs"]]))
    cfg = SweepConfig(users=(10,), groups=(3,), pairs=(("epsilon-greedy", "l1"),), runs=3, seed=5, rounds=40)
    rec = replay_run(cfg, 10, 3, "epsilon-greedy", "l1", 1)
    assert out["runs"][1]["points"] == rec.points.tolist()


def test_config_validation():
    with pytest.raises(ValueError, match="groups"):
        SweepConfig(users=(3,), groups=(4,))
    with pytest.raises(ValueError, match="shapley"):
        SweepConfig(shapley="magic")
    with pytest.raises(ValueError, match="adversary_fraction"):
        SweepConfig(adversary_fraction=1.0)
    with pytest.raises(ValueError, match="grouping"):
        SweepConfig(pairs=(("greedy", "l2"),))
    with pytest.raises(ValueError, match="exact"):
        SweepConfig(shapley="exact")  # n = 100 cannot be enumerated
    SweepConfig(shapley="exact", users=(50,), pairs=(("random", "dot"),))  # closed form: fine


def test_custom_preference_matrix_end_to_end():
    rng = np.random.default_rng(0)
    prefs = rng.uniform(0, 5, (15, 4))
    cfg = SweepConfig(users=(6,), groups=(2, 3), runs=2, rounds=20, preferences=prefs)
    rec = replay_run(cfg, 6, 3, "random", "l1", 1)
    assert rec.points.shape == (6,) and rec.shapley.shape == (6,)
    assert SweepConfig(users=(6,), preferences=prefs, groups=(2,)).key() != SweepConfig(
        users=(6,), preferences=prefs[::-1], groups=(2,)).key()
    with pytest.raises(ValueError, match="users"):
        SweepConfig(users=(15,), groups=(2,), preferences=prefs)


@pytest.mark.parametrize("content", ['{"not": "a part"}', "[]", "[1, 2, 3]", "{truncated", "\x00\x01",
                                     "wrong-chunk"])
def test_corrupt_or_foreign_part_file_is_recomputed_with_a_warning(serial_out, tmp_path, content):
    out, _ = serial_out
    cfg = SweepConfig(**SMALL)
    first = tmp_path / "c"
    run_sweep(cfg, first, n_jobs=1, figures=False)
    parts = sorted((first / "parts" / cfg.key()).glob("n*.json"))
    victim = parts[0]
    if content == "wrong-chunk":   # valid rows, but of another chunk
        content = parts[1].read_text()
    victim.write_text(content, encoding="latin-1")
    with pytest.warns(RuntimeWarning, match="recomputing"):
        res = run_sweep(cfg, first, n_jobs=1, figures=False)
    assert res.computed_chunks == 1 and res.skipped_chunks == len(parts) - 1
    assert _read(first) == _read(out)      # identical to the uninterrupted sweep


def _children(pid):
    """PIDs of the live processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                out.append(int(d.name))
    return out


def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return stat[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_die_with_a_sigkilled_reproduce(tmp_path):
    cmd = [sys.executable, "-m", "crowd_sft", "reproduce", "--users", "100", "--groups", "2,3", "--runs", "40",
           "--jobs", "2", "--no-figures", "--no-accurate", "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        workers = []
        while time.time() < deadline and len(workers) < 2:
            workers = [p for p in _children(proc.pid)
                       if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            time.sleep(0.05)
        assert len(workers) == 2 and proc.poll() is None
        time.sleep(1.0)                       # workers inside their first chunk
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 5
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.05)
        assert not [p for p in workers if _alive(p)], "pool workers outlived their SIGKILLed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
