"""Read files of one commit of a public repository: from a local mirror or a partial clone.

plants-v2 keeps its images outside the project; a sources file lists ``repo``, ``commit``
and ``path`` of each one, and these helpers bring the exact bytes back. Bytes are always
read from git's object store (``git cat-file --batch``), never from a checked-out work tree,
so no ``.gitattributes`` filter (end-of-line conversion, LFS smudge) can alter them: what is
hashed is what the repository holds.

Two ways to get a repository:

- a **mirror** folder of git directories (``MIRROR/owner+name/repo``, ``MIRROR/owner/name``
  and a few other layouts, bare or not) — no network;
- a **partial clone** (``git clone --filter=blob:none``) of ``https://github.com/OWNER/NAME``
  into a cache folder, then a checkout of only the listed paths, which makes git fetch just
  those blobs in one batch.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REMOTE = "https://github.com/{repo}"
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1", "LC_ALL": "C"}


class GitError(RuntimeError):
    """A git command failed; the message carries git's own words."""


def _run(args: Sequence[str], *, input: bytes | None = None, cwd: Path | None = None) -> bytes:
    env = {**os.environ, **_GIT_ENV}
    proc = subprocess.run(
        ["git", *args], input=input, capture_output=True, cwd=cwd, env=env, check=False
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args[:4])} …: {message or f'exit {proc.returncode}'}")
    return proc.stdout


def is_git_dir(path: Path) -> bool:
    if not path.is_dir():
        return False
    try:
        _run(["--git-dir", str(path), "rev-parse", "--git-dir"])
    except GitError:
        return False
    return True


def mirror_candidates(root: Path, repo: str) -> list[Path]:
    """Where a mirror of ``owner/name`` may live below ``root`` (first existing wins)."""
    owner, _, name = repo.partition("/")
    joined = [f"{owner}+{name}", f"{owner}__{name}"]
    out: list[Path] = []
    for base in joined:
        out += [root / base / "repo", root / base / "repo" / ".git", root / base / ".git"]
        out.append(root / base)
    out += [root / owner / name / ".git", root / owner / name, root / owner / f"{name}.git"]
    return out


def find_mirror(root: Path, repo: str) -> Path | None:
    return next((p for p in mirror_candidates(root, repo) if is_git_dir(p)), None)


@dataclass(frozen=True)
class TreeEntry:
    path: str
    oid: str


class CommitReader:
    """The files of one commit in one local git directory (bare or not)."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir = Path(git_dir)
        self.commit = commit

    def _git(self, *args: str, input: bytes | None = None) -> bytes:
        return _run(["--git-dir", str(self.git_dir), *args], input=input)

    def has_commit(self) -> bool:
        try:
            self._git("cat-file", "-e", f"{self.commit}^{{commit}}")
        except GitError:
            return False
        return True

    def entries(self, paths: Iterable[str] | None = None) -> dict[str, TreeEntry]:
        """Blob entries at the commit (all, or only ``paths``; absent paths are left out)."""
        # No ``-l``: sizes would make a partial clone fetch every blob one by one.
        args = ["ls-tree", "-r", "-z", "--full-tree", self.commit]
        wanted = None if paths is None else set(paths)
        out: dict[str, TreeEntry] = {}
        for item in self._git(*args).split(b"\0"):
            if not item:
                continue
            meta, _, raw_path = item.partition(b"\t")
            _mode, kind, oid = meta.split()
            path = raw_path.decode("utf-8", "surrogateescape")
            if kind != b"blob" or (wanted is not None and path not in wanted):
                continue
            out[path] = TreeEntry(path, oid.decode())
        return out

    def present(self, paths: Sequence[str]) -> set[str]:
        """The paths whose blobs are in the local object store (no lazy fetch is needed)."""
        if not paths:
            return set()
        listing = "".join(f"{self.commit}:{p}\n" for p in paths).encode("utf-8", "surrogateescape")
        lines = self._git("cat-file", "--batch-check", input=listing).splitlines()
        # "<oid> blob <size>" when present, "<name> missing" when not.
        return {p for p, line in zip(paths, lines, strict=True) if line.split()[1:2] == [b"blob"]}

    def read(self, paths: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        """``(path, bytes)`` for each path, ``None`` when git cannot produce the blob."""
        if not paths:
            return
        env = {**os.environ, **_GIT_ENV}
        proc = subprocess.Popen(
            ["git", "--git-dir", str(self.git_dir), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for path in paths:
                proc.stdin.write(f"{self.commit}:{path}\n".encode("utf-8", "surrogateescape"))
                proc.stdin.flush()
                header = proc.stdout.readline().rstrip(b"\n").split()
                if len(header) != 3 or header[1] != b"blob":
                    yield path, None  # "<name> missing" / "ambiguous" / not a blob
                    continue
                size = int(header[2])
                data = proc.stdout.read(size)
                proc.stdout.read(1)  # the newline after the contents
                yield path, data
        finally:
            proc.stdin.close()
            proc.wait()


def partial_clone(url: str, commit: str, dest: Path, paths: Sequence[str]) -> CommitReader:
    """A ``--filter=blob:none`` clone of ``url`` at ``dest`` holding the blobs of ``paths``.

    Re-uses ``dest`` when it is already a clone; fetches ``commit`` if the default clone does
    not contain it. Only blobs of paths that exist at the commit are requested, in one
    checkout (git batches the download), and read back from the object store.
    """
    dest = Path(dest)
    if not (dest / ".git").is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        _run(["clone", "--quiet", "--filter=blob:none", "--no-checkout", url, str(dest)])
    reader = CommitReader(dest / ".git", commit)
    if not reader.has_commit():
        _run(["-C", str(dest), "fetch", "--quiet", "--filter=blob:none", "origin", commit])
    present = reader.entries(paths)
    wanted = [p for p in paths if p in present]
    if wanted:
        listing = b"\0".join(p.encode("utf-8", "surrogateescape") for p in wanted) + b"\0"
        _run(
            [
                "--literal-pathspecs",
                "-C",
                str(dest),
                "-c",
                "core.autocrlf=false",
                "checkout",
                "--quiet",
                commit,
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
            ],
            input=listing,
        )
    return reader
