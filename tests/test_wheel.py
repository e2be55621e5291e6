"""The built wheel carries the pack, templates, knowledge and default config, so an installed
`cairn` works from any folder (DESIGN 2)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_built_wheel_installed_in_a_fresh_venv_validates_the_pack_from_another_folder(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)], cwd=ROOT,
                   check=True, capture_output=True)
    wheel = next(dist.glob("cairn-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "workflow/_data/pack.yaml" in names and "workflow/_data/config.yaml" in names
    assert any(n.startswith("workflow/_data/steps/2-training/") for n in names)
    assert any(n.startswith("workflow/_data/knowledge/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("workflow/_data/templates/") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_dir = venv / "bin"
    # Dependencies come from the test environment's site-packages (read through a .pth, which
    # does not run the editable install's import hook); Cairn itself only from the wheel.
    purelib = next((venv / "lib").glob("python3*/site-packages"))
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(purelib)
    (bin_dir / "cairn").write_text(f"#!{bin_dir / 'python'}\nfrom workflow.cli import main\nmain()\n",
                                   encoding="utf-8")
    (bin_dir / "cairn").chmod(0o755)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CAIRN_OUTPUT")}
    where = subprocess.run([str(bin_dir / "python"), "-c", "import workflow; print(workflow.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert str(purelib) in where.stdout, "workflow is imported from the installed wheel, not the source tree"
    result = subprocess.run([str(bin_dir / "cairn"), "validate"], cwd=elsewhere, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "12 steps" in result.stdout
    result = subprocess.run([str(bin_dir / "cairn"), "knowledge", "stats"], cwd=elsewhere, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([str(bin_dir / "cairn"), "new", "demo"], cwd=elsewhere, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0 and (elsewhere / "output" / "demo" / "sidecar.yaml").is_file()
