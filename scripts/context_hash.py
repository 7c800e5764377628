#!/usr/bin/env python3
"""Content hash of the application image's build context, and the image tag made from it.

The one place that lists what the image is built from: CONTEXT_PATHS are exactly the files and
directories containers/Containerfile copies, plus containers/ itself (the Containerfile and its
ignore file change the image too). Byte caches (__pycache__, *.pyc) are left out, so the hash
depends on file paths and contents only: two clean clones of one commit give one hash, and a
commit that touches none of these files keeps the tag (and K3s's cached image) unchanged.

    scripts/context_hash.py            -> 12 hex digits
    scripts/context_hash.py --tag      -> <project version>-<12 hex digits>
    scripts/context_hash.py --files    -> the hashed files, one per line
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTEXT_PATHS = (
    "pyproject.toml",
    "requirements-runtime.lock",
    "house_prices",
    "data_api_emulator",
    "model_server",
    "web",
    "dags",
    "containers",
)
EXCLUDED_DIRS = frozenset({"__pycache__"})
EXCLUDED_SUFFIXES = (".pyc",)
HASH_LENGTH = 12


def context_files(root: Path = REPO) -> list[str]:
    """Every file of the build context, as sorted POSIX paths relative to root."""
    files: list[str] = []
    for name in CONTEXT_PATHS:
        top = root / name
        if not top.exists():
            raise FileNotFoundError(f"{top} is missing: the image build context needs it")
        candidates = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        for path in candidates:
            relative = path.relative_to(root)
            if EXCLUDED_DIRS.intersection(relative.parts[:-1]):
                continue
            if path.name.endswith(EXCLUDED_SUFFIXES):
                continue
            files.append(relative.as_posix())
    return sorted(files)


def context_hash(root: Path = REPO) -> str:
    """The first HASH_LENGTH hex digits of a sha256 over each file's path and content."""
    digest = hashlib.sha256()
    for relative in context_files(root):
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()[:HASH_LENGTH]


def project_version(root: Path = REPO) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def image_tag(root: Path = REPO) -> str:
    return f"{project_version(root)}-{context_hash(root)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="repository checkout")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--tag", action="store_true", help="print <version>-<hash>")
    shown.add_argument("--files", action="store_true", help="print the hashed files")
    args = parser.parse_args(argv)
    try:
        if args.files:
            print("\n".join(context_files(args.root)))
        elif args.tag:
            print(image_tag(args.root))
        else:
            print(context_hash(args.root))
    except FileNotFoundError as error:
        print(f"context_hash: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
