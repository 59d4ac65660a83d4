"""plants-v2-style sources files: images fetched from a git repository at a commit, sha-checked.

A small local git repository is made in the test (real photos from ../shared committed into
it), so the same ``plantscout datasets build`` path that rebuilds plants-v2 from GitHub runs
here without a network: once from a mirror folder, once through a ``--filter=blob:none``
clone of a ``file://`` remote.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from plantscout.datasets.cli import app
from plantscout.datasets.records import read_records
from plantscout.datasets.reserved import is_reserved

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
}


def git(*args: str, cwd: Path) -> str:
    import os

    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def remote(tmp_path_factory, real_photo) -> dict:
    """A working repository ``acme+plants`` with three real photos in two folders."""
    root = tmp_path_factory.mktemp("remote")
    work = root / "acme+plants"
    (work / "fields" / "hemp").mkdir(parents=True)
    (work / "garden").mkdir()
    files = {
        "fields/hemp/a.jpg": real_photo("cannabis", 0),
        "fields/hemp/b b.jpg": real_photo("cannabis", 40),  # a space in the name
        "garden/rose.jpg": real_photo("other_plant", 3),
    }
    for rel, src in files.items():
        shutil.copyfile(src, work / rel)
    # A re-encoded, slightly smaller copy of another photo: a near-duplicate, not the same bytes.
    from PIL import Image

    with Image.open(real_photo("cannabis", 60)) as im:
        im.convert("RGB").resize((im.width * 9 // 10, im.height * 9 // 10)).save(
            work / "fields" / "near.jpg", quality=80
        )
    files["fields/near.jpg"] = work / "fields" / "near.jpg"
    # An attribute that would rewrite bytes on checkout: the build must not be fooled by it.
    (work / ".gitattributes").write_text("*.jpg text eol=crlf\n")
    git("init", "-q", "-b", "main", cwd=work)
    git("config", "uploadpack.allowFilter", "true", cwd=work)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "photos", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work)
    blobs = {
        rel: subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=work, capture_output=True).stdout
        for rel in files
    }
    assert all(b"\n" in blob for blob in blobs.values())  # a checkout would rewrite these bytes
    digests = {rel: hashlib.sha256(blob).hexdigest() for rel, blob in blobs.items()}
    mirror = root / "mirror"
    git("clone", "-q", "--bare", str(work), str(mirror / "acme+plants" / "repo"), cwd=root)
    return {"root": root, "commit": commit, "digests": digests, "mirror": mirror}


def write_sources(folder: Path, remote: dict, *, rows=None, repo="acme/plants") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    d = remote["digests"]
    rows = rows or [
        (repo, "fields/hemp/a.jpg", d["fields/hemp/a.jpg"], "cannabis", "Cannabis sativa", "g1"),
        (repo, "fields/hemp/b b.jpg", d["fields/hemp/b b.jpg"], "cannabis", "hemp", "g1"),
        (repo, "garden/rose.jpg", d["garden/rose.jpg"], "other_plant", "rose", "g2"),
    ]
    lines = ["repo,path,sha256,label,taxon,group,view,kind,scene,family,gsd_m"]
    for r, path, sha, label, taxon, group in rows:
        family = path.split("/")[0]
        lines.append(f"{r},{path},{sha},{label},{taxon},{group},ground,photo,field,{family},")
    (folder / "images.csv").write_text("\n".join(lines) + "\n", "utf-8")
    toml = folder / "test.toml"
    toml.write_text(
        f'name = "tiny-v2"\nimages = "images.csv"\n\n[[source]]\nrepo = "{repo}"\n'
        f'commit = "{remote["commit"]}"\nlicence = "CC BY 4.0"\n',
        "utf-8",
    )
    return toml


def build(out: Path, toml: Path, *extra: str):
    args = ["build", "--sources", str(toml), "--out", str(out), "--workers", "1", *extra]
    return CliRunner().invoke(app, args)


def test_builds_from_a_mirror_and_rebuilds_byte_for_byte(tmp_path: Path, remote: dict) -> None:
    toml = write_sources(tmp_path / "src", remote)
    out = tmp_path / "a"
    result = build(out, toml, "--mirror", str(remote["mirror"]), "--offline")
    assert result.exit_code == 0, result.output
    records = {r.source_path: r for r in read_records(out / "manifest.csv")}
    assert set(records) == {"fields/hemp/a.jpg", "fields/hemp/b b.jpg", "garden/rose.jpg"}
    rose = records["garden/rose.jpg"]
    assert rose.commit == remote["commit"] and rose.source == "acme/plants"
    assert rose.taxon == "Rosa" and rose.taxon_zh.startswith("蔷薇")  # canonical via taxa.csv
    assert rose.licence == "CC BY 4.0" and rose.licence_flag == "open"
    assert rose.source_family == "acme/plants:garden" and rose.scene == "field"
    assert records["fields/hemp/b b.jpg"].taxon == "Cannabis sativa"
    for path, record in records.items():  # the original bytes, despite the eol attribute
        assert hashlib.sha256(record.path.read_bytes()).hexdigest() == remote["digests"][path]

    # Elsewhere, through a blob-less clone of the remote instead of the mirror.
    again = tmp_path / "b"
    remote_url = f"file://{remote['root']}/{{owner}}+{{name}}"
    result = build(again, toml, "--remote", remote_url)
    assert result.exit_code == 0, result.output
    first = json.loads((out / "dataset.json").read_text("utf-8"))
    second = json.loads((again / "dataset.json").read_text("utf-8"))
    assert second["manifest_hash"] == first["manifest_hash"]
    assert second["fetch"]["tiny-v2"]["repos_cloned"] == ["acme/plants"]
    for path in records:
        a = (out / "raw" / "acme__plants" / path).read_bytes()
        assert a == (again / "raw" / "acme__plants" / path).read_bytes()

    # A third build in place reads nothing from git: every file is already there and checked.
    result = build(out, toml, "--offline")
    assert result.exit_code == 0, result.output
    assert "0 fetched, 3 already present" in result.output


def test_sha_mismatch_and_missing_path_refuse_the_build(tmp_path: Path, remote: dict) -> None:
    d = remote["digests"]
    rows = [
        ("acme/plants", "fields/hemp/a.jpg", d["garden/rose.jpg"], "cannabis", "x", "g1"),
        ("acme/plants", "fields/hemp/gone.jpg", d["fields/hemp/a.jpg"], "cannabis", "x", "g1"),
    ]
    toml = write_sources(tmp_path / "src", remote, rows=rows)
    out = tmp_path / "out"
    result = build(out, toml, "--mirror", str(remote["mirror"]), "--offline")
    assert result.exit_code != 0
    assert "fields/hemp/a.jpg: sha256" in result.output and "differs" in result.output
    assert "fields/hemp/gone.jpg: not found at the commit" in result.output
    assert not (out / "manifest.csv").exists()
    assert not (out / "raw" / "acme__plants" / "fields" / "hemp" / "a.jpg").exists()


def test_reserved_repositories_are_refused_before_any_fetch(tmp_path: Path, remote: dict) -> None:
    repo = "cosmicSleuth/Hemp_Classifier"
    assert is_reserved(repo) and is_reserved("cosmicsleuth/hemp_classifier")
    d = remote["digests"]
    rows = [(repo, "fields/hemp/a.jpg", d["fields/hemp/a.jpg"], "cannabis", "x", "g1")]
    toml = write_sources(tmp_path / "src", remote, rows=rows, repo=repo)
    result = build(tmp_path / "out", toml, "--remote", "file:///nonexistent/{repo}")
    assert result.exit_code != 0
    assert "cosmicSleuth/Hemp_Classifier is reserved for independent evaluation" in result.output
    assert not (tmp_path / "out" / ".git-cache").exists()


def test_copies_of_reserved_images_are_dropped(tmp_path: Path, remote: dict, real_photo) -> None:
    """A fetched photo that duplicates an image of a reserved repository is not used."""
    d = remote["digests"]
    rows = [
        ("acme/plants", "fields/hemp/a.jpg", d["fields/hemp/a.jpg"], "cannabis", "x", "g1"),
        ("acme/plants", "fields/near.jpg", d["fields/near.jpg"], "cannabis", "x", "g3"),
        ("acme/plants", "garden/rose.jpg", d["garden/rose.jpg"], "other_plant", "rose", "g2"),
    ]
    toml = write_sources(tmp_path / "src", remote, rows=rows)
    base = tmp_path / "base.csv"
    exact, near = real_photo("cannabis", 0), real_photo("cannabis", 60)  # a.jpg, near.jpg
    base.write_text(
        "path,label,group,source\n"
        f"{exact},cannabis,web-1,cosmicSleuth/Hemp_Classifier\n"
        f"{near},cannabis,web-2,cosmicSleuth/Hemp_Classifier\n",
        "utf-8",
    )
    out = tmp_path / "out"
    result = build(out, toml, "--manifest", str(base), "--mirror", str(remote["mirror"]))
    assert result.exit_code == 0, result.output
    records = read_records(out / "manifest.csv")
    kept = {r.source_path for r in records}
    assert "fields/hemp/a.jpg" not in kept and "fields/near.jpg" not in kept
    assert "garden/rose.jpg" in kept
    assert sum(r.source == "cosmicSleuth/Hemp_Classifier" for r in records) == 2
    lines = (out / "rejected.csv").read_text("utf-8").splitlines()
    rejected = {line.split(",")[0].rsplit("/", 1)[-1]: line for line in lines}
    for name in ("a.jpg", "near.jpg"):
        assert "copy of reserved cosmicSleuth/Hemp_Classifier" in rejected[name]
    info = json.loads((out / "dataset.json").read_text("utf-8"))
    assert info["dedup"]["copies_of_reserved_dropped"] == 2
