"""The README's Python snippets run as written (a README claim must hold)."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for k, code in enumerate(blocks):
        exec(compile(code, f"README block {k}", "exec"), {})


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    cmds = re.findall(r"```bash\n(.*?)```", text, re.S)[:2]
    assert "python -m equilibria report" in cmds[0]
    assert 'pip install -e ".[test]" && python -m pytest -q' in cmds[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest -q' in ci
