"""Study folders can only be inside runs/: studies named ``.`` or ``..`` by another program,
and a runs/<study> that is a symbolic link, never cost files outside the study's own."""

from __future__ import annotations

import optuna

from hpo.config import runs_dir, study_dir_for
from tests.conftest import run_hpo
from tests.read_only import read_only_folder

HOSTILE_NAMES = [".", "..", "../..", "/", "a/b", "..\\x", ".cache", "tab\there", "x" * 300, ""]


def make_store(cwd, *names):
    """runs/hpo.db with the given studies, made by plain Optuna (one trial each)."""
    (cwd / "runs").mkdir(exist_ok=True)
    for name in names:
        study = optuna.create_study(study_name=name, storage=f"sqlite:///{cwd}/runs/hpo.db")
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)


def stored_names(cwd):
    summaries = optuna.get_all_study_summaries(f"sqlite:///{cwd}/runs/hpo.db")
    return sorted(s.study_name for s in summaries)


def everything_in(directory):
    """Every file and folder below ``directory`` but the store's own (WAL, lock)."""
    paths = [p for p in directory.rglob("*") if not p.name.startswith("hpo.db")]
    return sorted(str(p.relative_to(directory)) for p in paths)


def test_every_study_name_maps_to_its_own_folder_inside_runs(workdir):
    folders = [study_dir_for(name) for name in [*HOSTILE_NAMES, "demo", "Demo-2.b"]]

    assert all(folder.parent == runs_dir() for folder in folders)
    assert all(folder.name not in (".", "..") for folder in folders)
    assert all(not folder.name.startswith(".") for folder in folders)
    assert len(set(folders)) == len(folders)
    assert study_dir_for("demo") == runs_dir() / "demo"


def test_deleting_studies_named_dot_and_dotdot_removes_nothing_outside_runs(workdir):
    make_store(workdir, "..", ".", "keep")
    (workdir / "notes.txt").write_text("the user's own file\n")
    (workdir / "runs/keep").mkdir()
    (workdir / "runs/keep/trials.csv").write_text("number\n0\n")
    before = everything_in(workdir)

    for name in ["..", "."]:
        result = run_hpo("delete", "--study", name, "--yes", cwd=workdir)
        assert result.returncode == 0, result.stderr
        assert f"deleted study {name} " in result.stdout

    assert stored_names(workdir) == ["keep"]
    assert everything_in(workdir) == before


def test_report_of_a_study_named_dotdot_is_written_inside_runs(workdir):
    make_store(workdir, "..")

    result = run_hpo("report", "--study", "..", cwd=workdir)

    assert result.returncode == 0, result.stderr
    [page] = workdir.rglob("report.html")
    assert page.parent.parent == workdir / "runs"
    assert page.parent == workdir / study_dir_for("..")


def test_a_study_folder_that_is_a_link_is_removed_as_a_link(workdir, tmp_path_factory):
    make_store(workdir, "demo")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "precious.txt").write_text("not hpo's\n")
    (workdir / "runs/demo").symlink_to(elsewhere, target_is_directory=True)

    result = run_hpo("delete", "--study", "demo", "--yes", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "runs/demo").is_symlink()
    assert (elsewhere / "precious.txt").read_text() == "not hpo's\n"
    assert stored_names(workdir) == []


def test_a_folder_that_cannot_be_removed_stops_delete_before_the_store_changes(workdir):
    make_store(workdir, "demo")
    (workdir / "runs/demo").mkdir()
    (workdir / "runs/demo/trials.csv").write_text("number\n0\n")
    before = everything_in(workdir)

    with read_only_folder(workdir / "runs"):
        result = run_hpo("delete", "--study", "demo", "--yes", cwd=workdir)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "nothing deleted" in result.stderr
    assert stored_names(workdir) == ["demo"]
    assert everything_in(workdir) == before
