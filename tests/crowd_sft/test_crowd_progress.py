"""The tiny stderr progress bar: silent unless enabled (default: only on a TTY)."""
from crowd_sft._progress import ProgressBar


def test_progress_bar_draws_only_when_enabled(capsys):
    with ProgressBar(4, "work", enabled=True) as bar:
        for _ in range(4):
            bar.update()
    err = capsys.readouterr().err
    assert "work [" in err and "4/4" in err and err.endswith("\n")
    with ProgressBar(4, "quiet", enabled=False) as bar:
        bar.update(4)
    assert capsys.readouterr().err == ""


def test_progress_bar_default_is_off_when_stderr_is_not_a_tty(capsys):
    bar = ProgressBar(2, "x")  # pytest's captured stderr is not a terminal
    assert not bar.enabled
