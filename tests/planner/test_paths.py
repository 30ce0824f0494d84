"""PathPolicy: paths resolve (symlinks, ..) before they are checked against the allowed dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.paths import PathNotAllowedError, PathPolicy


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    return directory


def test_paths_inside_an_allowed_directory_resolve(data_dir: Path) -> None:
    policy = PathPolicy([data_dir])
    assert policy.resolve(data_dir / "in" / "events.jsonl") == (data_dir / "in" / "events.jsonl").resolve()
    assert policy.resolve(data_dir) == data_dir.resolve()
    assert policy.resolve(f"file://{data_dir}/x.parquet") == (data_dir / "x.parquet").resolve()


def test_relative_paths_are_relative_to_the_first_allowed_directory(data_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert (
        PathPolicy([data_dir, other]).resolve("out/result.jsonl")
        == (data_dir / "out" / "result.jsonl").resolve()
    )


def test_dot_dot_cannot_escape(data_dir: Path) -> None:
    with pytest.raises(PathNotAllowedError, match="outside the allowed directories"):
        PathPolicy([data_dir]).resolve(data_dir / ".." / "secret.txt")
    with pytest.raises(PathNotAllowedError):
        PathPolicy([data_dir]).resolve("../../etc/passwd")


def test_a_sibling_with_a_common_prefix_is_outside(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "data-evil").mkdir()
    with pytest.raises(PathNotAllowedError):
        PathPolicy([data_dir]).resolve(tmp_path / "data-evil" / "x")


def test_symlinks_are_followed_before_checking(data_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (data_dir / "link").symlink_to(outside)
    with pytest.raises(PathNotAllowedError, match="resolves to"):
        PathPolicy([data_dir]).resolve(data_dir / "link" / "file.txt")
    assert not PathPolicy([data_dir]).is_allowed(data_dir / "link")


def test_an_allowed_directory_reached_through_a_symlink_is_allowed(data_dir: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(data_dir)
    policy = PathPolicy([alias])
    assert policy.resolve(data_dir / "x") == (data_dir / "x").resolve()


@pytest.mark.parametrize("path", ["", "s3://bucket/key", "a\x00b"])
def test_non_local_or_malformed_paths_are_rejected(data_dir: Path, path: str) -> None:
    with pytest.raises(PathNotAllowedError):
        PathPolicy([data_dir]).resolve(path)


def test_no_allowed_directories_allows_nothing(data_dir: Path) -> None:
    with pytest.raises(PathNotAllowedError, match="no directories are allowed"):
        PathPolicy([]).resolve(data_dir / "x")
