"""Which code trained a run: the git commit of the checkout the package runs from (none for a copy
installed elsewhere), and how the model card says it."""

import shutil
import subprocess

import pytest

from handdigit.evaluation.model_card import _code_markdown
from handdigit.util import code_version

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(directory, *arguments):
    return subprocess.run(
        ["git", "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def checkout(tmp_path):
    """A git checkout holding a package directory, committed once."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "module.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


@needs_git
def test_the_commit_of_the_checkout_and_whether_tracked_files_changed(checkout):
    assert code_version(checkout / "pkg") == {
        "commit": git(checkout, "rev-parse", "HEAD"),
        "uncommitted_changes": False,
    }
    (checkout / "untracked.txt").write_text("not part of the code\n")
    assert code_version(checkout / "pkg")["uncommitted_changes"] is False
    (checkout / "pkg" / "module.py").write_text("x = 2\n")
    assert code_version(checkout / "pkg")["uncommitted_changes"] is True


@needs_git
def test_a_copy_inside_another_repository_or_outside_any_has_no_version(checkout, tmp_path_factory):
    nested = checkout / "venv" / "site-packages" / "pkg"  # an installed copy inside some repository
    nested.mkdir(parents=True)
    assert code_version(nested) is None
    alone = tmp_path_factory.mktemp("installed") / "pkg"
    alone.mkdir()
    assert code_version(alone) is None


def test_this_checkout_is_one_when_it_is_a_git_checkout():
    version = code_version()
    assert version is None or (
        len(version["commit"]) == 40 and isinstance(version["uncommitted_changes"], bool)
    )


def test_the_card_names_the_commits_that_trained_the_run():
    clean = {"commit": "a" * 40, "uncommitted_changes": False}
    changed = {"commit": "b" * 40, "uncommitted_changes": True}
    assert _code_markdown([clean]) == " on commit `aaaaaaaaaaaa`"
    assert (
        _code_markdown([clean, changed])
        == " on commit `aaaaaaaaaaaa`, then `bbbbbbbbbbbb` with uncommitted changes"
    )
    assert _code_markdown([None, clean]) == " on commit `aaaaaaaaaaaa`, and code from no git checkout"
    assert _code_markdown([None]) == _code_markdown([]) == _code_markdown(None) == ""
