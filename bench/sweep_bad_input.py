#!/usr/bin/env python
"""Bad-input and fault sweep over every ``rotcurve`` subcommand.

Runs a few hundred data-driven cases, each a ``rotcurve`` subprocess in its own
scratch folder, and checks the promise of docs/cli.md: bad input gets *one line*
on stderr (exit 2), no traceback, no half-written file; Ctrl-C exits 130 and
says how to go on; ``| head -1`` exits 141 quietly; a second writer of the same
output fails at once; ``kill -9`` then ``--resume`` gives the same bytes; a full
disk is one line and no leftovers; a malicious checkpoint never runs code.

Every case is a record: name, argv (after ``rotcurve``; ``{w}`` = the case's
folder, ``{data}`` = the shared tiny dataset, ``{run}`` = a private copy of the
shared tiny run, ``{base}`` = the shared fixtures folder), a setup function, an
expectation and a driver (how the process is run: plainly, with stdout closed,
interrupted with SIGINT, killed with SIGKILL then resumed, or next to a
concurrent writer).

Classes (first that applies):

``timeout``       ran past --timeout (killed);
``traceback``     "Traceback" on stderr;
``internal``      exit 70, or a signal death (exit >= 128) other than the expected one;
``accepted``      exit 0 where an error was expected;
``wrong-exit``    not the expected exit status (e.g. expected 130, got 2);
``messy-stderr``  stderr not exactly one non-empty line (an argparse usage line +
                  ``rotcurve ...: error: ...`` is fine), or it contains "Warning";
``check-failed``  an extra check failed (marker file created, sha256 differs, the
                  message lacks what the docs promise, ...);
``clean``         none of the above.

``leftover`` is a separate flag: after a failed case any new (or modified) file
in the case's folder (temp files, locks, half-written outputs, a refused run's
``.shards/request.json``); after a successful / expected-status case any
``*.tmp*`` or ``*.lock`` file.  The per-case TMPDIR must stay empty.

Usage::

    python bench/sweep_bad_input.py --json /tmp/sweep.json [--only REGEX] [--list]

Exits 0 always (it is a report); the failing cases are listed at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import fnmatch
import hashlib
import json
import os
import pickle
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------
# configuration

ROTCURVE = shutil.which("rotcurve") or str(Path(sys.executable).with_name("rotcurve"))
AS_LIMIT = 4_000_000_000  # address-space limit per case (bytes): a runaway allocation fails
RADII = "0.1:50:20"  # the shared dataset's radius grid
TRAIN_ARGS = ["--epochs", "2", "--batch-size", "64", "--threads", "1", "--device", "cpu",
              "--seed", "0"]
SHARDED = ["--n", "1000000", "--shard-size", "10000", "--workers", "2", "--radii", RADII,
           "--no-components", "--seed", "3", "-q"]  # ~5 s, 100 shards (kill/SIGINT/lock cases)
SMALL_SHARDED = ["--n", "30000", "--shard-size", "10000", "--workers", "1", "--radii", RADII,
                 "--no-components", "--seed", "3", "-q"]  # 3 shards, ~1.5 s
GOOD_CSV = "Md,Rd,Mh,c\n5e10,3.0,1e12,10\n1e10,2.0,3e11,12\n"
TMP_PATTERNS = ["*.tmp*", "*.lock", ".*.tmp*", "*~", "*.partial*", "tmp*"]
#: what other libraries create in TMPDIR on their own (not leftovers of rotcurve)
THIRD_PARTY_CACHES = ["_tmp/torchinductor_*", "_tmp/torchinductor_*/*", "_tmp/matplotlib-*",
                      "_tmp/matplotlib-*/*"]
#: documented side outputs that may appear even when a command fails
ALWAYS_ALLOWED = {"run/aggregate-best.json", "run/aggregate-last.json"}
SUSPECT_RE = re.compile(r"ImportError|ModuleNotFoundError|SyntaxError|IndentationError|"
                        r"NameError|AttributeError: module|circular import")


# --------------------------------------------------------------------------------------
# case records

@dataclasses.dataclass
class Expect:
    #: None: any non-zero exit (bad input); an int: exactly that status; a tuple: any of
    #: those (0 in it: succeeding is fine too, e.g. a value that is odd but valid).
    exit: int | tuple[int, ...] | None = None
    #: what stderr may look like: "one" (exactly one non-empty line, or argparse
    #: usage + error), "empty", "le1" (zero or one line), "any" (no traceback).
    stderr: str = "one"
    #: regex (case-insensitive) stderr must match, e.g. what the docs promise it says.
    stderr_re: str | None = None
    #: "Warning" is allowed on stderr (a succeeding command prints its warnings).
    allow_warning: bool = False
    #: glob patterns (relative to the case folder) of new files that are fine after
    #: a failure (e.g. the finished shards of an interrupted generate); "**" = all.
    allow_new: tuple[str, ...] = ()
    #: extra check: f(ctx, result) -> list of problems.
    check: Callable[[Ctx, Result], list[str]] | None = None
    #: the command must exit within this many seconds (e.g. a refused second writer).
    max_seconds: float | None = None


@dataclasses.dataclass
class Case:
    name: str
    argv: list[str]
    setup: Callable[[Ctx], None] | None = None
    expect: Expect = dataclasses.field(default_factory=Expect)
    #: plain | closed_stdout | sigint | kill9_resume | concurrent
    driver: str = "plain"
    #: kill9_resume / concurrent: the first process; sigint: unused
    pre_argv: list[str] | None = None
    #: sigint / kill9 / concurrent: wait until this glob (relative to {w}) has >= wait_count
    #: matches (None: just wait wait_delay seconds), then wait_delay more seconds
    wait_glob: str | None = None
    wait_count: int = 1
    wait_delay: float = 0.0
    heavy: bool = False  # run in the serial phase (timing-sensitive or CPU-heavy)
    timeout: float | None = None


@dataclasses.dataclass
class Result:
    name: str
    argv: list[str]
    exit: int | None = None
    stderr: str = ""
    stdout: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    klass: str = ""
    traceback: bool = False
    internal: bool = False
    leftover: bool = False
    leftovers: list[str] = dataclasses.field(default_factory=list)
    modified: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: str | None = None
    attempts: int = 1


class Skip(Exception):
    """Raised by a setup when the case cannot be run here (e.g. no tmpfs)."""


class Ctx:
    """What a case's setup and checks see."""

    def __init__(self, root: Path, case: Case):
        self.root = root
        self.base = root / "base"
        self.data = self.base / "d.h5"
        self.w = root / "cases" / case.name
        self.run = self.w / "run"
        self.tmp = self.w / "_tmp"
        self.marker = root / "markers" / f"{case.name}.pwned"
        self.case = case
        self.teardowns: list[Callable[[], None]] = []

    @property
    def vars(self) -> dict[str, str]:
        return {"w": str(self.w), "data": str(self.data), "run": str(self.run),
                "base": str(self.base)}

    def fmt(self, argv: list[str]) -> list[str]:
        return [a.format(**self.vars) for a in argv]

    def p(self, rel: str) -> Path:
        return self.w / rel


# --------------------------------------------------------------------------------------
# fixture makers (setups)

def rbytes(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def seq(*fns: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def _setup(ctx: Ctx) -> None:
        for fn in fns:
            fn(ctx)
    return _setup


def put(rel: str, content: str | bytes) -> Callable[[Ctx], None]:
    def _setup(ctx: Ctx) -> None:
        path = ctx.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return _setup


def mkdir(rel: str) -> Callable[[Ctx], None]:
    return lambda ctx: ctx.p(rel).mkdir(parents=True, exist_ok=True)


def rm(rel: str) -> Callable[[Ctx], None]:
    def _setup(ctx: Ctx) -> None:
        path = ctx.p(rel)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return _setup


def copy_base(name: str, rel: str) -> Callable[[Ctx], None]:
    def _setup(ctx: Ctx) -> None:
        src = ctx.base / name
        dst = ctx.p(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return _setup


def truncate(rel: str, frac: float = 0.5) -> Callable[[Ctx], None]:
    def _setup(ctx: Ctx) -> None:
        path = ctx.p(rel)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * frac)])
    return _setup


def flip(rel: str, n: int = 256) -> Callable[[Ctx], None]:
    """XOR 0xFF over n bytes in the middle of a file."""
    def _setup(ctx: Ctx) -> None:
        path = ctx.p(rel)
        data = bytearray(path.read_bytes())
        mid = len(data) // 2
        for i in range(mid, min(mid + n, len(data))):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    return _setup


def flip_ds(rel: str, dataset: str = "v_circ", n: int = 256) -> Callable[[Ctx], None]:
    """XOR 0xFF over n bytes in the middle of the stored (compressed, checksummed) chunk of
    one dataset: the bytes a reader of that dataset must notice.  (Flipping the middle of
    the *file* can hit a dataset the command never reads, e.g. /v_disc.)"""
    def _setup(ctx: Ctx) -> None:
        import h5py
        path = ctx.p(rel)
        with h5py.File(path, "r") as f:
            info = f[dataset].id.get_chunk_info(0)
        data = bytearray(path.read_bytes())
        mid = info.byte_offset + info.size // 2
        for i in range(mid, min(mid + n, info.byte_offset + info.size)):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    return _setup


def h5_foreign(rel: str, rotcurve_like: bool = False) -> Callable[[Ctx], None]:
    """An HDF5 file without rotcurve attributes (optionally with look-alike datasets)."""
    def _setup(ctx: Ctx) -> None:
        import h5py
        import numpy as np
        path = ctx.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            if rotcurve_like:
                f["radii"] = np.geomspace(0.1, 50, 20)
                f["v_circ"] = np.ones((10, 20), dtype="f4") * 100
                for k in ("Md", "Rd", "Mh", "c"):
                    f[f"params/{k}"] = np.ones(10)
            else:
                f["x"] = np.arange(10)
                f.attrs["creator"] = "someone else"
    return _setup


def h5_attr(rel: str, name: str, value: Any) -> Callable[[Ctx], None]:
    def _setup(ctx: Ctx) -> None:
        import h5py
        with h5py.File(ctx.p(rel), "a") as f:
            f.attrs[name] = value
    return _setup


def h5_nonfinite(rel: str) -> Callable[[Ctx], None]:
    """NaN / inf in every 10th curve of v_circ (so that any subsample has some); the
    attribute curves_finite is left as it was (True)."""
    def _setup(ctx: Ctx) -> None:
        import h5py
        import numpy as np
        with h5py.File(ctx.p(rel), "a") as f:
            v = f["v_circ"][...]
            v[::10, 4] = np.nan
            v[5::10, 1] = np.inf
            f["v_circ"][...] = v
    return _setup


def data_copy(rel: str, *faults: Callable[[str], Callable[[Ctx], None]]) -> Callable[[Ctx], None]:
    return seq(copy_base("d.h5", rel), *[f(rel) for f in faults])


class _Evil:
    """Unpickling this runs ``touch MARKER`` (what a malicious checkpoint would do)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


def ckpt(which: str, kind: str) -> Callable[[Ctx], None]:
    """Damage {run}/checkpoints/WHICH.pt: truncated | random | empty | missing | malicious |
    malicious-legacy | malicious-embedded | schema999 | foreign (a bare state_dict)."""
    def _setup(ctx: Ctx) -> None:
        path = ctx.run / "checkpoints" / f"{which}.pt"
        if kind == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif kind == "random":
            path.write_bytes(rbytes(path.stat().st_size, seed=7))
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "missing":
            path.unlink()
        elif kind == "malicious":
            import torch
            torch.save(_Evil(str(ctx.marker)), path)
        elif kind == "malicious-legacy":
            with open(path, "wb") as f:
                pickle.dump(_Evil(str(ctx.marker)), f, protocol=2)
        elif kind == "malicious-embedded":
            import torch
            ck = torch.load(path, map_location="cpu", weights_only=True)
            ck["extra"] = _Evil(str(ctx.marker))
            torch.save(ck, path)
        elif kind == "schema999":
            import torch
            ck = torch.load(path, map_location="cpu", weights_only=True)
            ck["schema_version"] = 999
            torch.save(ck, path)
        elif kind == "foreign":
            import torch
            ck = torch.load(path, map_location="cpu", weights_only=True)
            torch.save(ck["model_state"], path)
        else:
            raise ValueError(kind)
    return _setup


def run_file(name: str, content: str | bytes | None) -> Callable[[Ctx], None]:
    """Replace (or, with None, delete) a file of the run copy."""
    def _setup(ctx: Ctx) -> None:
        path = ctx.run / name
        if content is None:
            path.unlink()
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return _setup


def tmpfs(rel: str = "disk", size: str = "5m", free: int | None = None) -> Callable[[Ctx], None]:
    """Mount a small tmpfs at {w}/REL (unmounted in teardown); optionally fill it so that
    only ``free`` bytes are left.  Skips the case when mounting is not allowed."""
    def _setup(ctx: Ctx) -> None:
        mnt = ctx.p(rel)
        mnt.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise Skip(f"cannot mount tmpfs: {proc.stderr.strip()}")
        MOUNTS.add(str(mnt))

        def _umount() -> None:
            umount(str(mnt))
        ctx.teardowns.append(_umount)
        if free is not None:
            st = os.statvfs(mnt)
            avail = st.f_bavail * st.f_frsize
            filler = max(0, avail - free)
            with open(mnt / "filler.bin", "wb") as f:
                f.write(b"\0" * filler)
    return _setup


MOUNTS: set[str] = set()


def umount(mnt: str) -> None:
    for args in (["umount", mnt], ["umount", "-l", mnt]):
        if subprocess.run(args, capture_output=True).returncode == 0:
            break
    MOUNTS.discard(mnt)


def fake_run_done(ctx: Ctx) -> None:
    """A generate whose shards are all there but whose master is missing (interrupted
    just before the end): made by a real small sharded run, master then removed."""
    subprocess.run([ROTCURVE, "generate", *SMALL_SHARDED, "--out", str(ctx.p("g.h5"))],
                   check=True, capture_output=True, env=child_env(ctx), timeout=120)
    ctx.p("g.h5").unlink()


# --------------------------------------------------------------------------------------
# checks

def marker_absent(ctx: Ctx, res: Result) -> list[str]:
    if ctx.marker.exists():
        return [f"SECURITY: the malicious pickle ran code (marker {ctx.marker} created)"]
    return []


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_hashes(folder: Path, name: str) -> dict[str, str]:
    out = {}
    master = folder / name
    if master.exists():
        out[name] = sha256(master)
    shards = folder / f"{name}.shards"
    if shards.is_dir():
        for p in sorted(shards.iterdir()):
            out[f"{name}.shards/{p.name}"] = sha256(p) if p.is_file() else "<dir>"
    return out


def same_as(ref_folder: str, name: str = "g.h5") -> Callable[[Ctx, Result], list[str]]:
    """The case's output (master + every shard file) is byte-identical to the reference."""
    def _check(ctx: Ctx, res: Result) -> list[str]:
        ref = tree_hashes(ctx.base / ref_folder, name)
        got = tree_hashes(ctx.w, name)
        if not ref:
            return [f"reference {ref_folder}/{name} missing"]
        problems = []
        for k in sorted(set(ref) | set(got)):
            if ref.get(k) != got.get(k):
                problems.append(f"{k}: sha256 {str(got.get(k))[:12]} != reference "
                                f"{str(ref.get(k))[:12]}")
        return problems[:5] + ([f"... {len(problems) - 5} more"] if len(problems) > 5 else [])
    return _check


def exists(rel: str) -> Callable[[Ctx, Result], list[str]]:
    return lambda ctx, res: [] if ctx.p(rel).exists() else [f"{rel} was not written"]


def both(*checks: Callable[[Ctx, Result], list[str]]) -> Callable[[Ctx, Result], list[str]]:
    return lambda ctx, res: [p for c in checks for p in c(ctx, res)]


# --------------------------------------------------------------------------------------
# the cases

CASES: list[Case] = []


def case(name: str, argv: list[str], setup: Callable[[Ctx], None] | None = None,
         **kw: Any) -> None:
    exp_kw = {k: kw.pop(k) for k in list(kw) if k in Expect.__dataclass_fields__}
    if any(c.name == name for c in CASES):
        raise SystemExit(f"duplicate case name {name}")
    CASES.append(Case(name, argv, setup, Expect(**exp_kw), **kw))


def build_cases() -> None:
    D = "{data}"
    # ---------------------------------------------------------------- top level
    case("top_no_command", [])
    case("top_unknown_command", ["frobnicate"])
    case("top_unknown_option", ["--frobnicate"])

    # ---------------------------------------------------------------- quickstart
    QS = ["quickstart", "--out", "{w}/qs", "--n-curves", "100", "--epochs", "1",
          "--n-samples", "20", "--threads", "1", "-q"]

    def qs(name: str, extra: list[str], setup=None, **kw):
        argv = list(QS)
        for i in range(0, len(extra), 2):  # replace an option already in QS, else append
            opt = extra[i]
            val = extra[i + 1] if i + 1 < len(extra) else None
            if opt in argv and val is not None:
                argv[argv.index(opt) + 1] = val
            else:
                argv += [opt] + ([val] if val is not None else [])
        case(name, argv, setup, **kw)

    qs("qs_n_curves_below_min", ["--n-curves", "50"])
    qs("qs_n_curves_zero", ["--n-curves", "0"])
    qs("qs_n_curves_negative", ["--n-curves", "-5"])
    qs("qs_n_curves_nan", ["--n-curves", "nan"])
    qs("qs_n_curves_text", ["--n-curves", "lots"])
    qs("qs_n_curves_1e30", ["--n-curves", "1e30"])
    qs("qs_epochs_zero", ["--epochs", "0"])
    qs("qs_epochs_negative", ["--epochs", "-3"])
    qs("qs_epochs_inf", ["--epochs", "inf"])
    qs("qs_n_samples_below_min", ["--n-samples", "5"])
    qs("qs_n_samples_1e30", ["--n-samples", "1e30"])
    qs("qs_seed_text", ["--seed", "x"])
    qs("qs_seed_negative", ["--seed", "-1"])
    qs("qs_device_bad_choice", ["--device", "tpu"])
    qs("qs_device_cuda_absent", ["--device", "cuda"])
    qs("qs_threads_zero", ["--threads", "0"])
    qs("qs_threads_huge", ["--threads", "100000"])
    qs("qs_unknown_option", ["--bogus", "1"])
    qs("qs_out_exists", [], mkdir("qs"), stderr_re="overwrite")
    qs("qs_out_parent_is_file", ["--out", "{w}/afile/qs"], put("afile", "x"))

    # ---------------------------------------------------------------- generate
    G = ["generate", "--out", "{w}/g.h5", "--radii", RADII, "-q"]

    def gen(name: str, extra: list[str], setup=None, n: str | None = "600", **kw):
        argv = G[:1] + (["--n", n] if n is not None else []) + G[1:] + extra
        case(name, argv, setup, **kw)

    gen("gen_n_missing", [], n=None)
    case("gen_out_missing", ["generate", "--n", "600", "-q"])
    gen("gen_n_zero", [], n="0")
    gen("gen_n_negative", [], n="-10")
    gen("gen_n_nan", [], n="nan")
    gen("gen_n_inf", [], n="inf")
    gen("gen_n_text", [], n="many")
    gen("gen_n_fraction", [], n="1.5")
    gen("gen_n_bad_suffix", [], n="10Q")
    gen("gen_n_1e30", [], n="1e30")
    gen("gen_n_huge_into_tmpfs", ["--out", "{w}/disk/g.h5"], tmpfs(), n="1e9",
        timeout=60)
    gen("gen_too_many_shards", ["--shard-size", "1"], n="1e7")
    gen("gen_seed_negative", ["--seed", "-1"])
    gen("gen_seed_text", ["--seed", "abc"])
    gen("gen_seed_2pow70", ["--seed", str(2 ** 70)])
    gen("gen_prior_unknown_name", ["--prior", "nosuchprior"])
    gen("gen_prior_missing_file", ["--prior", "{w}/nope.toml"])
    gen("gen_prior_is_folder", ["--prior", "{w}/pdir"], mkdir("pdir"))
    gen("gen_prior_binary", ["--prior", "{w}/p.toml"], put("p.toml", rbytes(512)))
    gen("gen_prior_truncated", ["--prior", "{w}/p.toml"],
        put("p.toml", 'kind = "reference"\nlog10_Md_min = '))
    gen("gen_prior_empty", ["--prior", "{w}/p.toml"], put("p.toml", ""))
    gen("gen_prior_non_utf8", ["--prior", "{w}/p.toml"],
        put("p.toml", b'kind = "reference"\n# caf\xe9 \xff\xfe\nlog10_Md_min = 9.0\n'))
    gen("gen_prior_unknown_key", ["--prior", "{w}/p.toml"],
        lambda ctx: put("p.toml", Path("data/priors/reference.toml").read_text()
                        + "\nbogus_key = 1.0\n")(ctx))
    gen("gen_prior_unknown_kind", ["--prior", "{w}/p.toml"], put("p.toml", 'kind = "weird"\n'))
    gen("gen_prior_wrong_type", ["--prior", "{w}/p.toml"],
        lambda ctx: put("p.toml", Path("data/priors/reference.toml").read_text()
                        .replace("log10_Md_min = 9.0", 'log10_Md_min = "nine"'))(ctx))
    gen("gen_prior_nan", ["--prior", "{w}/p.toml"],
        lambda ctx: put("p.toml", Path("data/priors/reference.toml").read_text()
                        .replace("log10_Md_min = 9.0", "log10_Md_min = nan"))(ctx))
    gen("gen_prior_inverted_range", ["--prior", "{w}/p.toml"],
        lambda ctx: put("p.toml", Path("data/priors/reference.toml").read_text()
                        .replace("log10_Md_min = 9.0", "log10_Md_min = 13.0"))(ctx))
    gen("gen_prior_overflow", ["--prior", "{w}/p.toml"],
        lambda ctx: put("p.toml", Path("data/priors/reference.toml").read_text()
                        .replace("log10_Md_max = 12.0", "log10_Md_max = 400.0"))(ctx))
    gen("gen_prior_negative_scatter", ["--prior", "{w}/p.toml"],
        lambda ctx: put("p.toml", Path("data/priors/reference.toml").read_text()
                        .replace("Rd_scatter = 0.4", "Rd_scatter = -0.4"))(ctx))
    for nm, spec in [("huge_n", "0.1:50:1000000000"), ("zero_n", "0.1:50:0"),
                     ("negative_rmin", "-1:50:10"), ("zero_rmin_log", "0:50:10:log"),
                     ("rmin_gt_rmax", "50:0.1:10"), ("nan", "nan:50:10"),
                     ("inf", "0.1:inf:10"), ("bad_spacing", "0.1:50:10:cubic"),
                     ("garbage", "a:b:c"), ("too_few_fields", "0.1:50"),
                     ("fraction_n", "0.1:50:10.5")]:
        gen(f"gen_radii_{nm}", [f"--radii={spec}"])  # '=': argparse takes "-1:..." for an option
    gen("gen_radii_file_missing", ["--radii", "{w}/nope.txt"])
    gen("gen_radii_file_empty", ["--radii", "{w}/r.txt"], put("r.txt", ""))
    gen("gen_radii_file_binary", ["--radii", "{w}/r.txt"], put("r.txt", rbytes(300)))
    gen("gen_radii_file_non_numeric", ["--radii", "{w}/r.txt"], put("r.txt", "1\n2\nthree\n"))
    gen("gen_radii_file_negative", ["--radii", "{w}/r.txt"], put("r.txt", "1\n-2\n3\n"))
    gen("gen_radii_file_nan", ["--radii", "{w}/r.txt"], put("r.txt", "1\nnan\n3\n"))
    gen("gen_radii_file_non_utf8", ["--radii", "{w}/r.csv"], put("r.csv", b"1\n2\n\xff\xfe3\n"))
    gen("gen_H0_zero", ["--H0", "0"])
    gen("gen_H0_negative", ["--H0", "-70"])
    gen("gen_H0_nan", ["--H0", "nan"])
    gen("gen_Delta_zero", ["--Delta", "0"])
    gen("gen_Delta_inf", ["--Delta", "inf"])
    gen("gen_Delta_1e30", ["--Delta", "1e30"], exit=(0, 2), stderr="le1")
    gen("gen_workers_zero", ["--workers", "0"])
    gen("gen_workers_negative", ["--workers", "-2"])
    case("gen_workers_huge", ["generate", *SMALL_SHARDED, "--workers", "1000000", "--out",
                              "{w}/g.h5"], exit=(0, 2), stderr="le1")
    gen("gen_workers_and_scheduler", ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    gen("gen_scheduler_unreachable", ["--scheduler", "tcp://127.0.0.1:1",
                                      "--scheduler-timeout", "2"])
    gen("gen_scheduler_garbage", ["--scheduler", "not a url", "--scheduler-timeout", "2"])
    gen("gen_scheduler_timeout_negative", ["--scheduler", "tcp://127.0.0.1:1",
                                           "--scheduler-timeout", "-1"])
    gen("gen_shard_size_zero", ["--shard-size", "0"])
    gen("gen_shard_size_negative", ["--shard-size", "-5"])
    gen("gen_shard_size_1e30", ["--shard-size", "1e30"])
    gen("gen_compression_unknown", ["--compression", "zstd-ultra"])
    gen("gen_compression_gzip_level", ["--compression", "gzip:12"])
    gen("gen_compression_gzip_text", ["--compression", "gzip:x"])
    gen("gen_overwrite_and_resume", ["--overwrite", "--resume"])
    gen("gen_exists_no_overwrite", [], copy_base("d.h5", "g.h5"), stderr_re="overwrite")
    gen("gen_out_parent_is_file", ["--out", "{w}/afile/g.h5"], put("afile", "x"))
    gen("gen_out_is_folder", ["--out", "{w}/adir"], mkdir("adir"))
    gen("gen_full_disk_one_shard", ["--out", "{w}/disk/g.h5", "--radii", "0.1:50:50"],
        tmpfs(), n="200000", stderr_re="no space|space left|disk")
    case("gen_full_disk_sharded",
         ["generate", "--n", "200000", "--shard-size", "20000", "--workers", "1", "--radii",
          RADII, "--no-components", "--out", "{w}/disk/g.h5", "-q"], tmpfs(),
         stderr_re="no space|space left|disk",
         allow_new=("disk/g.h5.shards", "disk/g.h5.shards/shard-*.h5",
                    "disk/g.h5.shards/request.json"))
    case("gen_resume_different_seed",
         ["generate", *SMALL_SHARDED, "--out", "{w}/g.h5", "--resume", "--seed", "4"],
         fake_run_done, stderr_re="seed")
    case("gen_resume_damaged_shard",
         ["generate", *SMALL_SHARDED, "--out", "{w}/g.h5", "--resume"],
         seq(fake_run_done, flip("g.h5.shards/shard-00001.h5", 2048)),
         exit=0, stderr="one", stderr_re="damaged|corrupt|again|rewrit",
         check=same_as("ref_small"))
    case("gen_resume_truncated_shard",
         ["generate", *SMALL_SHARDED, "--out", "{w}/g.h5", "--resume"],
         seq(fake_run_done, truncate("g.h5.shards/shard-00002.h5")),
         exit=0, stderr="one", stderr_re="damaged|corrupt|again|rewrit|truncat",
         check=same_as("ref_small"))
    case("gen_resume_missing_shard",
         ["generate", *SMALL_SHARDED, "--out", "{w}/g.h5", "--resume"],
         seq(fake_run_done, rm("g.h5.shards/shard-00000.h5")),
         exit=0, stderr="le1", check=same_as("ref_small"))
    case("gen_resume_request_garbage",
         ["generate", *SMALL_SHARDED, "--out", "{w}/g.h5", "--resume"],
         seq(fake_run_done, put("g.h5.shards/request.json", rbytes(100))))
    case("gen_kill9_then_resume", ["generate", *SHARDED, "--out", "{w}/g.h5", "--resume"],
         driver="kill9_resume", pre_argv=["generate", *SHARDED, "--out", "{w}/g.h5"],
         wait_glob="g.h5.shards/shard-*.h5", wait_count=4, exit=0, stderr="le1",
         check=same_as("ref_big"), heavy=True, timeout=120)
    case("gen_sigint", ["generate", *SHARDED, "--out", "{w}/g.h5"], driver="sigint",
         wait_glob="g.h5.shards/shard-*.h5", wait_count=4, exit=130, stderr_re="--resume",
         allow_new=("**",), heavy=True)
    case("gen_concurrent_same_out", ["generate", *SHARDED, "--out", "{w}/g.h5"],
         driver="concurrent", pre_argv=["generate", *SHARDED, "--out", "{w}/g.h5"],
         wait_glob="g.h5.lock", exit=2, stderr_re=r"another|pid \d+|running|in use",
         max_seconds=15, allow_new=("**",), heavy=True)
    case("gen_concurrent_same_out_overwrite",
         ["generate", *SHARDED, "--out", "{w}/g.h5", "--overwrite"],
         driver="concurrent", pre_argv=["generate", *SHARDED, "--out", "{w}/g.h5"],
         wait_glob="g.h5.lock", exit=2, stderr_re=r"another|pid \d+|running|in use",
         max_seconds=15, allow_new=("**",), heavy=True)
    case("gen_stdout_closed", ["generate", "--n", "600", "--radii", RADII, "--out", "{w}/g.h5",
                               "-q"],
         driver="closed_stdout", exit=141, stderr="empty", allow_new=("**",))

    # ---------------------------------------------------------------- evaluate
    def ev(name: str, setup=None, params: str = "{w}/p.csv", extra: list[str] = (), **kw):
        case(name, ["evaluate", "--params", params, "--out", "{w}/e.h5", "-q", *extra],
             setup, **kw)

    good = put("p.csv", GOOD_CSV)
    case("ev_params_missing_option", ["evaluate", "--out", "{w}/e.h5"])
    case("ev_out_missing_option", ["evaluate", "--params", "{w}/p.csv"], good)
    ev("ev_params_missing_file")
    ev("ev_params_is_folder", mkdir("p.csv"))
    ev("ev_csv_empty", put("p.csv", ""))
    ev("ev_csv_header_only", put("p.csv", "Md,Rd,Mh,c\n"))
    ev("ev_csv_wrong_columns", put("p.csv", "a,b,c,d\n1,2,3,4\n"))
    ev("ev_csv_missing_column", put("p.csv", "Md,Rd,Mh\n5e10,3,1e12\n"))
    ev("ev_csv_non_numeric", put("p.csv", "Md,Rd,Mh,c\n5e10,three,1e12,10\n"))
    ev("ev_csv_nan_value", put("p.csv", "Md,Rd,Mh,c\n5e10,nan,1e12,10\n"))
    ev("ev_csv_negative_mass", put("p.csv", "Md,Rd,Mh,c\n-5e10,3,1e12,10\n"))
    ev("ev_csv_zero_scale", put("p.csv", "Md,Rd,Mh,c\n5e10,0,1e12,10\n"))
    ev("ev_csv_Md_1e300", put("p.csv", "Md,Rd,Mh,c\n5e10,3,1e12,10\n1e300,3,1e12,10\n"),
       stderr_re=r"row|1e\+?300|finite")
    ev("ev_csv_Mh_inf", put("p.csv", "Md,Rd,Mh,c\n5e10,3,inf,10\n"))
    ev("ev_csv_binary", put("p.csv", rbytes(2048)))
    ev("ev_csv_non_utf8", put("p.csv", b"Md,Rd,Mh,c\n5e10,3,1e12,10\n\xff\xfe\x80,1,2,3\n"))
    ev("ev_csv_truncated_row", put("p.csv", "Md,Rd,Mh,c\n5e10,3,1e12,10\n1e10,2,"))
    ev("ev_csv_ragged", put("p.csv", "Md,Rd,Mh,c\n5e10,3,1e12,10,99,100\n"))
    ev("ev_h5_foreign", h5_foreign("p.h5"), params="{w}/p.h5")
    ev("ev_h5_truncated", data_copy("p.h5", truncate), params="{w}/p.h5")
    ev("ev_h5_schema999", data_copy("p.h5", lambda r: h5_attr(r, "schema_version", 999)),
       params="{w}/p.h5", stderr_re="upgrade|newer|schema")
    ev("ev_h5_flipped_params", data_copy("p.h5", lambda r: flip_ds(r, "params/Md")),
       params="{w}/p.h5")
    ev("ev_h5_empty_file", put("p.h5", b""), params="{w}/p.h5")
    ev("ev_radii_bad", good, extra=["--radii", "0.1:50:-3"])
    ev("ev_radii_huge", good, extra=["--radii", "0.1:50:1000000000"])
    ev("ev_block_size_zero", good, extra=["--block-size", "0"])
    ev("ev_block_size_negative", good, extra=["--block-size", "-1"])
    ev("ev_block_size_1e30", good, extra=["--block-size", "1e30"])
    ev("ev_H0_nan", good, extra=["--H0", "nan"])
    ev("ev_compression_unknown", good, extra=["--compression", "brotli"])
    ev("ev_exists_no_overwrite", seq(good, copy_base("d.h5", "e.h5")), stderr_re="overwrite")
    case("ev_out_parent_is_file", ["evaluate", "--params", "{w}/p.csv", "--out",
                                   "{w}/afile/e.h5", "-q"], seq(good, put("afile", "x")))
    case("ev_full_disk", ["evaluate", "--params", "{w}/p.csv", "--out", "{w}/disk/e.h5",
                          "--radii", "0.1:50:5000", "-q"],
         seq(put("p.csv", "Md,Rd,Mh,c\n" + "".join(
             f"{5e10 * (1 + i / 997):.6e},{1 + i % 7 / 3:.4f},{1e12 * (1 + i / 331):.6e},"
             f"{5 + i % 11}\n" for i in range(3000))),
             tmpfs()), stderr_re="no space|space left|disk")
    # (without -q: evaluate -q prints nothing on stdout, see ev_quiet_still_says_where)
    case("ev_stdout_closed", ["evaluate", "--params", "{w}/p.csv", "--out", "{w}/e.h5"], good,
         driver="closed_stdout", exit=141, stderr="empty", allow_new=("**",))

    # ---------------------------------------------------------------- train
    def tr(name: str, setup=None, data: str = D, out: str = "{w}/r", extra: list[str] = (),
           base_args: list[str] = TRAIN_ARGS, **kw):
        case(name, ["train", "--data", data, "--out", out, "-q", *base_args, *extra], setup, **kw)

    case("tr_data_missing_option", ["train", "--out", "{w}/r"])
    case("tr_out_missing_option", ["train", "--data", D])
    tr("tr_data_missing_file", data="{w}/nope.h5")
    tr("tr_data_is_folder", mkdir("x.h5"), data="{w}/x.h5")
    tr("tr_data_foreign_h5", h5_foreign("x.h5"), data="{w}/x.h5")
    tr("tr_data_lookalike_h5", h5_foreign("x.h5", rotcurve_like=True), data="{w}/x.h5")
    tr("tr_data_truncated", data_copy("x.h5", truncate), data="{w}/x.h5")
    tr("tr_data_schema999", data_copy("x.h5", lambda r: h5_attr(r, "schema_version", 999)),
       data="{w}/x.h5", stderr_re="upgrade|newer|schema")
    tr("tr_data_flipped_v_circ", data_copy("x.h5", flip_ds), data="{w}/x.h5")
    tr("tr_data_nonfinite", data_copy("x.h5", h5_nonfinite), data="{w}/x.h5")
    tr("tr_data_empty_file", put("x.h5", b""), data="{w}/x.h5")
    tr("tr_data_text_file", put("x.h5", "hello\n"), data="{w}/x.h5")
    tr("tr_data_csv_table", put("p.csv", GOOD_CSV), data="{w}/p.csv")
    tr("tr_data_latents_file", data="{base}/lat.h5")
    tr("tr_data_mnist_missing", data="mnist:{w}/nomnist")
    tr("tr_data_mnist_empty_dir", mkdir("mn"), data="mnist:{w}/mn")
    tr("tr_data_mnist_garbage", seq(put("mn/train-images-idx3-ubyte.gz", rbytes(1000)),
                                     put("mn/train-labels-idx1-ubyte.gz", rbytes(100))),
       data="mnist:{w}/mn")
    tr("tr_data_bad_scheme", data="s3://bucket/curves.h5")
    tr("tr_download_offline", data="mnist:{w}/mn", extra=["--download"], timeout=60)
    for opt, vals in [("--latent-dim", ["1000000000", "0", "-2", "nan", "1025"]),
                      ("--epochs", ["0", "-1", "many", "inf", "1e30"]),
                      ("--batch-size", ["0", "-64", "1e30"]),
                      ("--lr", ["0", "-1e-3", "nan", "inf"]),
                      ("--threads", ["0", "-1", "100000"]),
                      ("--seed", ["-1", "1.5"])]:
        for v in vals:
            vn = v.replace("-", "neg").replace(".", "p")
            tr(f"tr{opt.replace('-', '_')[1:]}_{vn}", extra=[f"{opt}={v}"])  # '=': "-1e-3"
    tr("tr_model_bad_choice", extra=["--model", "gan"])
    tr("tr_posterior_bad", extra=["--posterior", "triangular"])
    tr("tr_device_bad_choice", extra=["--device", "tpu"])
    tr("tr_device_cuda_absent", extra=["--device", "cuda"], stderr_re="cuda")
    tr("tr_overwrite_and_resume", out="{run}", extra=["--overwrite", "--resume"])
    tr("tr_exists_no_overwrite", out="{run}", stderr_re="overwrite|resume")
    tr("tr_out_parent_is_file", put("afile", "x"), out="{w}/afile/r")
    tr("tr_resume_nothing", out="{w}/never", extra=["--resume"], exit=(0, 2), stderr="le1")
    tr("tr_resume_changed_lr", out="{run}", extra=["--resume", "--lr", "0.01"],
       stderr_re="lr")
    tr("tr_resume_truncated_last", ckpt("last", "truncated"), out="{run}", extra=["--resume"])
    tr("tr_resume_random_last", ckpt("last", "random"), out="{run}", extra=["--resume"])
    tr("tr_resume_empty_last", ckpt("last", "empty"), out="{run}", extra=["--resume"])
    tr("tr_resume_malicious_last", ckpt("last", "malicious"), out="{run}", extra=["--resume"],
       check=marker_absent)
    tr("tr_resume_malicious_legacy_last", ckpt("last", "malicious-legacy"), out="{run}",
       extra=["--resume"], check=marker_absent)
    tr("tr_resume_schema999_last", ckpt("last", "schema999"), out="{run}", extra=["--resume"],
       stderr_re="upgrade")
    tr("tr_resume_config_garbage", run_file("config.json", "{not json"), out="{run}",
       extra=["--resume"])
    tr("tr_full_disk", tmpfs(free=300_000), out="{w}/disk/r",
       stderr_re="no space|space left|disk")
    long_train = ["train", "--data", D, "--out", "{w}/r", "--epochs", "3000", "--batch-size",
                  "64", "--threads", "1", "--device", "cpu", "-q"]
    case("tr_sigint_after_checkpoint", long_train, driver="sigint",
         wait_glob="r/checkpoints/last.pt", wait_delay=1.0, exit=130, stderr_re="--resume",
         allow_new=("**",), heavy=True)
    case("tr_sigint_during_startup", long_train, driver="sigint", wait_delay=1.2, exit=130,
         stderr="le1", allow_new=("**",), heavy=True)
    # Ctrl-C early, while the command line is still importing / reading: no traceback either
    for delay in (0.3, 0.7):
        case(f"tr_sigint_at_{delay}s", long_train, driver="sigint", wait_delay=delay,
             exit=130, stderr="le1", allow_new=("**",), heavy=True)
        case(f"gen_sigint_at_{delay}s", ["generate", *SHARDED, "--out", "{w}/g.h5"],
             driver="sigint", wait_delay=delay, exit=130, stderr="le1", allow_new=("**",),
             heavy=True)
    case("tr_concurrent_same_run", long_train, driver="concurrent", pre_argv=long_train,
         wait_glob="r.lock", exit=2, stderr_re=r"another|pid \d+|running|in use",
         max_seconds=15, allow_new=("**",), heavy=True)
    for flag in ("--overwrite", "--resume"):
        case(f"tr_concurrent_same_run{flag.replace('-', '_')[1:]}", long_train + [flag],
             driver="concurrent", pre_argv=long_train, wait_glob="r.lock", exit=2,
             stderr_re=r"another|pid \d+|running|in use", max_seconds=15, allow_new=("**",),
             heavy=True)
    case("tr_stdout_closed", ["train", "--data", D, "--out", "{w}/r", *TRAIN_ARGS, "-q"],
         driver="closed_stdout", exit=141, stderr="empty", allow_new=("**",))

    # ---------------------------------------------------------------- commands using a run
    users: dict[str, list[str]] = {
        "score": ["score", "--run", "{run}", "--data", D, "-q"],
        "encode": ["encode", "--run", "{run}", "--data", D, "--out", "{w}/o.h5", "-q"],
        "reconstruct": ["reconstruct", "--run", "{run}", "--data", D, "--out", "{w}/o.h5",
                        "-q"],
        "sample": ["sample", "--run", "{run}", "--n", "10", "--out", "{w}/o.h5", "-q"],
        "report": ["report", "--run", "{run}", "--data", D, "--out", "{w}/o",
                   "--n-samples", "20", "--n-curves", "100", "-q"],
        "corner": ["corner", "--run", "{run}", "--data", D, "--out", "{w}/o.png",
                   "--n-curves", "100", "-q"],
    }

    def swap(argv: list[str], opt: str, val: str | None) -> list[str]:
        argv = list(argv)
        if opt in argv:
            i = argv.index(opt)
            if val is None:
                del argv[i:i + 2]
            else:
                argv[i + 1] = val
        elif val is not None:
            argv += [opt, val]
        return argv

    run_faults: list[tuple[str, Any, Any, dict]] = [
        ("run_missing", "{w}/norun", None, {}),
        ("run_is_file", "{w}/afile", put("afile", "x"), {}),
        ("run_empty_folder", "{w}/emptyrun", mkdir("emptyrun"), {}),
        # the checkpoints are self-contained: working without config.json is fine
        ("run_no_config", "{run}", run_file("config.json", None), {"exit": (0, 2),
                                                                   "stderr": "le1"}),
        ("run_config_garbage", "{run}", run_file("config.json", "{\"model\": [1, 2"),
         {"exit": (0, 2), "stderr": "le1"}),
        ("ckpt_missing", "{run}", ckpt("best", "missing"), {}),
        ("ckpt_truncated", "{run}", ckpt("best", "truncated"), {}),
        ("ckpt_random_bytes", "{run}", ckpt("best", "random"), {}),
        ("ckpt_foreign_state_dict", "{run}", ckpt("best", "foreign"), {}),
        ("ckpt_schema999", "{run}", ckpt("best", "schema999"), {"stderr_re": "upgrade"}),
        ("ckpt_malicious", "{run}", ckpt("best", "malicious"), {"check": marker_absent}),
        ("ckpt_malicious_embedded", "{run}", ckpt("best", "malicious-embedded"),
         {"check": marker_absent}),
    ]
    for cmd, argv in users.items():
        for fname, run_arg, setup, kw in run_faults:
            if cmd in ("report", "corner") and "config" in fname:
                continue  # slow when they succeed, and the same loader as the others
            case(f"{cmd}_{fname}", swap(argv, "--run", run_arg), setup, **kw)
        case(f"{cmd}_ckpt_malicious_legacy_last", argv + ["--which", "last"],
             ckpt("last", "malicious-legacy"), check=marker_absent)
        case(f"{cmd}_which_bad_choice", argv + ["--which", "worst"])
        case(f"{cmd}_device_cuda_absent", argv + ["--device", "cuda"], stderr_re="cuda")

    data_faults: list[tuple[str, Any, dict]] = [
        ("data_missing", None, {}),
        ("data_foreign_h5", h5_foreign("x.h5"), {}),
        ("data_truncated", data_copy("x.h5", truncate), {}),
        ("data_schema999", data_copy("x.h5", lambda r: h5_attr(r, "schema_version", 999)),
         {"stderr_re": "upgrade|newer|schema"}),
        ("data_flipped_v_circ", data_copy("x.h5", flip_ds), {}),
        ("data_wrong_radii", copy_base("d30.h5", "x.h5"), {"stderr_re": "radi"}),
        ("data_nonfinite", data_copy("x.h5", h5_nonfinite), {}),
        ("data_empty_file", put("x.h5", b""), {}),
    ]
    for cmd, argv in users.items():
        if "--data" not in argv:
            continue
        for fname, setup, kw in data_faults:
            case(f"{cmd}_{fname}", swap(argv, "--data", "{w}/x.h5"), setup, **kw)

    outs = {"encode": "o.h5", "reconstruct": "o.h5", "sample": "o.h5", "report": "o",
            "corner": "o.png"}
    for cmd, out in outs.items():
        argv = users[cmd]
        existing = mkdir(out) if cmd == "report" else put(out, "precious\n")
        if cmd == "report":
            existing = seq(mkdir(out), put(f"{out}/report.html", "precious\n"))
        case(f"{cmd}_exists_no_overwrite", argv, existing, stderr_re="overwrite")
        case(f"{cmd}_out_parent_is_file", swap(argv, "--out", f"{{w}}/afile/{out}"),
             put("afile", "x"))
        free = 0
        case(f"{cmd}_full_disk", swap(argv, "--out", f"{{w}}/disk/{out}"),
             tmpfs(free=free), stderr_re="no space|space left|disk|largest")

    # command-specific options
    S = users["score"]
    case("score_split_bad_choice", S + ["--split", "holdout"])
    case("score_batch_size_zero", S + ["--batch-size", "0"])
    case("score_batch_size_nan", S + ["--batch-size", "nan"])
    case("score_seed_text", S + ["--seed", "x"])
    case("score_data_mnist_missing", swap(S, "--data", "mnist:{w}/nomnist"))
    case("score_stdout_closed", S, driver="closed_stdout", exit=141, stderr="empty",
         allow_new=("**",))
    E_ = users["encode"]
    case("encode_batch_size_negative", E_ + ["--batch-size", "-1"])
    case("encode_split_bad_choice", E_ + ["--split", "everything"])
    case("encode_stdout_closed", E_, driver="closed_stdout", exit=141, stderr="empty",
         allow_new=("**",))
    R_ = users["reconstruct"]
    case("reconstruct_data_mnist", swap(R_, "--data", "mnist:{w}/mn"), mkdir("mn"))
    case("reconstruct_batch_size_zero", R_ + ["--batch-size", "0"])
    Sa = users["sample"]
    for v in ["0", "-1", "nan", "inf", "ten", "1.5"]:
        case(f"sample_n_{v.replace('-', 'neg').replace('.', 'p')}", swap(Sa, "--n", v))
    case("sample_n_1e12", swap(Sa, "--n", "1000000000000"), stderr_re="largest|space|at most")
    case("sample_n_1e12_e_notation", swap(Sa, "--n", "1e12"))
    case("sample_n_1e8_into_tmpfs", swap(swap(Sa, "--n", "100000000"), "--out",
                                         "{w}/disk/o.h5"), tmpfs(),
         stderr_re="largest|space|at most")
    case("sample_from_bad_choice", Sa + ["--from", "posterior"])
    case("sample_seed_negative", Sa + ["--seed", "-5"])
    case("sample_agg_cache_garbage", Sa + ["--from", "aggregate"],
         run_file("aggregate-best.json", "{broken"), exit=0, stderr="one", allow_warning=True,
         check=exists("o.h5"))
    case("sample_agg_cache_binary", Sa + ["--from", "gmm"],
         run_file("aggregate-best.json", rbytes(500)), exit=0, stderr="le1",
         allow_warning=True, check=exists("o.h5"))
    case("sample_agg_cache_foreign_json", Sa + ["--from", "gaussian"],
         run_file("aggregate-best.json", '{"format": "rotcurve-aggregates", "gaussian": 1}'),
         exit=0, stderr="le1", allow_warning=True, check=exists("o.h5"))
    case("sample_stdout_closed", Sa, driver="closed_stdout", exit=141, stderr="empty",
         allow_new=("**",))
    Rp = users["report"]
    for opt, vals in [("--n-samples", ["0", "-5", "1000000000"]), ("--n-curves", ["0", "-1"]),
                      ("--jobs", ["0", "-5"]), ("--dpi", ["0", "-1", "nan", "100000"]),
                      ("--seed", ["abc"])]:
        for v in vals:
            case(f"report{opt.replace('-', '_')[1:]}_{v.replace('-', 'neg')}",
                 swap(Rp, opt, v), timeout=60)
    C = users["corner"]
    case("corner_out_bad_suffix", swap(C, "--out", "{w}/o.xyz"))
    case("corner_out_no_suffix", swap(C, "--out", "{w}/o"))
    case("corner_n_curves_zero", swap(C, "--n-curves", "0"))
    case("corner_n_curves_negative", swap(C, "--n-curves", "-3"))
    case("corner_seed_nan", C + ["--seed", "nan"])
    case("corner_data_mnist", swap(C, "--data", "mnist:{w}/mn"), mkdir("mn"))

    # ---------------------------------------------------------------- fit
    F = ["fit", "--data", "{base}/fit.csv", "--out", "{w}/fo", "--walkers", "16",
         "--max-steps", "100", "--no-figures", "--no-report", "--workers", "1", "-q"]

    def fit(name: str, setup=None, data: str | None = None, opts: dict | None = None,
            flags: list[str] = (), **kw):
        argv = swap(F, "--data", data) if data else list(F)
        for opt, val in (opts or {}).items():  # replace, add, or (None) remove an option
            argv = swap(argv, opt, val)
        case(name, argv + list(flags), setup, **kw)

    case("fit_data_missing_option", ["fit", "--out", "{w}/fo"])
    case("fit_out_missing_option", ["fit", "--data", "{base}/fit.csv"])
    fit("fit_data_missing_file", data="{w}/nope.csv")
    fit("fit_csv_empty", put("t.csv", ""), data="{w}/t.csv")
    fit("fit_csv_header_only", put("t.csv", "name,R,V,eV\n"), data="{w}/t.csv")
    fit("fit_csv_wrong_columns", put("t.csv", "a,b\n1,2\n"), data="{w}/t.csv")
    fit("fit_csv_non_numeric", put("t.csv", "name,R,V,eV\ng,1,fast,5\ng,2,100,5\ng,3,120,5\n"),
        data="{w}/t.csv")
    # docs/fitting.md: bad data of one galaxy is a per-galaxy failure: exit 1, one line naming
    # the galaxy and the row, listed in DIR/failures.csv (the outputs are results, not leftovers)
    def galaxy(bad_row: str) -> str:
        rows = [f"g,{r},{80 + 8 * r},5" for r in (1, 2, 3, 4, 5, 6, 7)]
        rows[2] = bad_row
        return "name,R,V,eV\n" + "\n".join(rows) + "\n"

    per_galaxy = {"exit": 1, "allow_new": ("**",), "stderr_re": "galaxy g"}
    fit("fit_csv_eV_zero", put("t.csv", galaxy("g,3,104,0")), data="{w}/t.csv", **per_galaxy)
    fit("fit_csv_V_nan", put("t.csv", galaxy("g,3,nan,5")), data="{w}/t.csv", **per_galaxy)
    fit("fit_csv_R_negative", put("t.csv", galaxy("g,-3,104,5")), data="{w}/t.csv",
        **per_galaxy)
    fit("fit_csv_R_not_increasing", put("t.csv", galaxy("g,1.5,104,5")), data="{w}/t.csv",
        **per_galaxy)
    fit("fit_csv_too_few_points", put("t.csv", "name,R,V,eV\ng,1,80,5\ng,2,100,5\n"),
        data="{w}/t.csv", **per_galaxy)
    fit("fit_csv_V_1e300", put("t.csv", galaxy("g,3,1e300,5")), data="{w}/t.csv",
        exit=(0, 1, 2), allow_new=("**",))
    fit("fit_csv_binary", put("t.csv", rbytes(3000)), data="{w}/t.csv")
    fit("fit_csv_non_utf8", put("t.csv", b"name,R,V,eV\ng\xff\xfe,1,80,5\ng,2,100,5\n"),
        data="{w}/t.csv")
    fit("fit_fake_zip", put("Rotmod_LTG.zip", rbytes(1000)), data="{w}/Rotmod_LTG.zip")
    fit("fit_empty_folder", mkdir("sp"), data="{w}/sp")
    fit("fit_bad_rotmod_dat", put("sp/X_rotmod.dat", "# Distance = ?\nnot numbers at all\n"),
        data="{w}/sp", exit=1, allow_new=("**",), stderr_re="galaxy X")
    fit("fit_unknown_extension", put("t.xlsx", "x"), data="{w}/t.xlsx")
    fit("fit_h5_foreign", h5_foreign("t.h5"), data="{w}/t.h5")
    fit("fit_walkers_1", opts={"--walkers": "1"}, exit=(0, 2), stderr="le1")  # raised to 2d+2
    for opt, vals in [("--walkers", ["0", "-4", "1000000000"]),
                      ("--max-steps", ["0", "-1", "nan"]),
                      ("--H0", ["0", "-73"]), ("--Delta", ["-1"]),
                      ("--workers", ["0"]), ("--seed", ["-1"])]:
        for v in vals:
            fit(f"fit{opt.replace('-', '_')[1:]}_{v.replace('-', 'neg')}", opts={opt: v})
    fit("fit_model_bad_choice", opts={"--model": "mond"})
    fit("fit_model_sparc_without_vgas", opts={"--model": "sparc"})
    fit("fit_prior_unknown_name", opts={"--prior": "nosuch"})
    fit("fit_prior_malformed_toml", put("p.toml", "kind = [[[\n"), opts={"--prior": "{w}/p.toml"})
    fit("fit_prior_unknown_key", lambda ctx: put(
        "p.toml", Path("data/fit_priors/flat.toml").read_text() + "\nbogus = 3\n")(ctx),
        opts={"--prior": "{w}/p.toml"})
    fit("fit_prior_binary", put("p.toml", rbytes(300)), opts={"--prior": "{w}/p.toml"})
    fit("fit_overwrite_and_resume", flags=["--overwrite", "--resume"])
    fit("fit_workers_and_scheduler", opts={"--scheduler": "tcp://127.0.0.1:1"})
    fit("fit_scheduler_unreachable", opts={"--workers": None, "--scheduler": "tcp://127.0.0.1:1",
                                           "--scheduler-timeout": "2"})
    fit("fit_exists_no_overwrite", seq(mkdir("fo"), put("fo/summary.csv", "precious\n")),
        stderr_re="overwrite|resume")
    fit("fit_out_parent_is_file", put("afile", "x"), opts={"--out": "{w}/afile/fo"})
    fit("fit_full_disk", tmpfs(free=2_000), opts={"--out": "{w}/disk/fo"},
        stderr_re="no space|space left|disk")
    fit("fit_stdout_closed", driver="closed_stdout", exit=141, stderr="le1",  # not converged
        allow_new=("**",))

    # ---------------------------------------------------------------- stderr not a terminal
    # docs/cli.md: "progress bars go to stderr, and only when it is a terminal; notes and
    # warnings go to stderr": here stderr is a file, so no bar line (generate's one-line
    # summary note "wrote N curves in T s" may be there); the other commands have no notes.
    case("gen_ok_stderr_not_a_tty", ["generate", "--n", "600", "--radii", RADII, "--out",
                                     "{w}/g.h5"], exit=0, stderr="le1",
         check=lambda ctx, res: ["a progress bar was written to a file"]
         if ("%|" in res.stderr or "\r" in res.stderr or "it/s" in res.stderr) else [])
    case("train_ok_stderr_not_a_tty", ["train", "--data", D, "--out", "{w}/r", *TRAIN_ARGS],
         exit=0, stderr="empty")
    # docs/cli.md: -q keeps "the lines saying where the results went"
    case("ev_quiet_still_says_where", ["evaluate", "--params", "{w}/p.csv", "--out", "{w}/e.h5",
                                       "-q"], good, exit=0, stderr="empty",
         check=lambda ctx, res: [] if "e.h5" in res.stdout else
         ["with -q nothing on stdout says where the output went"])
    case("encode_ok_stderr_not_a_tty", [a for a in users["encode"] if a != "-q"],
         exit=0, stderr="empty")

    # ---------------------------------------------------------------- misc stdout closed
    case("help_stdout_closed", ["--help"], driver="closed_stdout", exit=141, stderr="empty")
    case("version_stdout_closed", ["--version"], driver="closed_stdout", exit=141,
         stderr="empty")
    case("generate_help_stdout_closed", ["generate", "--help"], driver="closed_stdout",
         exit=141, stderr="empty")
    case("qs_sigint", ["quickstart", "--out", "{w}/qs", "--n-curves", "2000", "--epochs",
                       "3000", "--n-samples", "20", "--threads", "1", "-q"],
         driver="sigint", wait_glob="qs/run/checkpoints/last.pt", wait_delay=1.0, exit=130,
         stderr_re="--overwrite|--resume", allow_new=("**",), heavy=True)


# --------------------------------------------------------------------------------------
# fixtures shared by every case

def child_env(ctx: Ctx | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ROTCURVE_DEBUG", None)
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    if ctx is not None:
        env["TMPDIR"] = str(ctx.tmp)
        env["MPLCONFIGDIR"] = str(ctx.root / "mplconfig")
    return env


def prepare(root: Path) -> None:
    base = root / "base"
    base.mkdir(parents=True)
    (root / "markers").mkdir()
    (root / "mplconfig").mkdir()
    env = dict(child_env(None), MPLCONFIGDIR=str(root / "mplconfig"))

    def rc(*argv: str) -> None:
        t = time.time()
        proc = subprocess.run([ROTCURVE, *argv], capture_output=True, text=True, env=env,
                              cwd=base, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"fixture command failed: rotcurve {' '.join(argv)}\n{proc.stderr}")
        print(f"  fixture ({time.time() - t:4.1f} s): rotcurve {' '.join(argv)}", flush=True)

    rc("generate", "--n", "600", "--radii", RADII, "--seed", "1", "--out", str(base / "d.h5"),
       "-q")
    rc("generate", "--n", "200", "--radii", "0.1:50:30", "--seed", "2", "--out",
       str(base / "d30.h5"), "-q")
    rc("train", "--data", str(base / "d.h5"), "--out", str(base / "run"), "-q", *TRAIN_ARGS)
    rc("encode", "--run", str(base / "run"), "--data", str(base / "d.h5"), "--out",
       str(base / "lat.h5"), "-q")
    (base / "ref_big").mkdir()
    rc("generate", *SHARDED, "--out", str(base / "ref_big" / "g.h5"))
    (base / "ref_small").mkdir()
    rc("generate", *SMALL_SHARDED, "--out", str(base / "ref_small" / "g.h5"))
    import numpy as np
    r = np.geomspace(0.5, 20, 12)
    g = 4.30091e-6
    v = np.sqrt(g * 5e10 / r * (1 - np.exp(-r / 3))) + 60 * np.sqrt(r / (r + 5))
    lines = ["name,R,V,eV"] + [f"g1,{ri:.4f},{vi * (1 + 0.01 * np.sin(ri)):.3f},5.0"
                               for ri, vi in zip(r, v)]
    (base / "fit.csv").write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------
# running

class Proc:
    def __init__(self, argv: list[str], ctx: Ctx, log: Path, stdout: int | None = None):
        self.log = log
        self.err = open(log.with_suffix(".err"), "wb")
        self.out = open(log.with_suffix(".out"), "wb") if stdout is None else None
        cmd = ["prlimit", f"--as={AS_LIMIT}", "--", ROTCURVE, *argv]
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, cwd=ctx.w, env=child_env(ctx), stdin=subprocess.DEVNULL,
                                  stdout=self.out if stdout is None else stdout, stderr=self.err,
                                  start_new_session=True)
        self.pid = self.p.pid
        self.timed_out = False
        self.seconds = 0.0

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float) -> int:
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.signal_group(signal.SIGKILL)
            rc = self.p.wait()
        self.seconds = time.time() - self.t0
        # workers left behind in the process group (ours): end them
        self.signal_group(signal.SIGKILL)
        for f in (self.err, self.out):
            if f:
                f.close()
        return 128 - rc if rc < 0 else rc

    def texts(self) -> tuple[str, str]:
        err = self.log.with_suffix(".err").read_bytes().decode("utf-8", "replace")
        out_p = self.log.with_suffix(".out")
        out = out_p.read_bytes().decode("utf-8", "replace") if out_p.exists() else ""
        return out, err


def wait_until(pred: Callable[[], bool], proc: Proc, limit: float) -> bool:
    t = time.time()
    while time.time() - t < limit:
        if pred():
            return True
        if proc.p.poll() is not None:
            return pred()
        time.sleep(0.05)
    return False


def snapshot(folder: Path) -> dict[str, tuple[int, int] | None]:
    """rel path -> (size, mtime_ns) for files, None for folders."""
    out: dict[str, tuple[int, int] | None] = {}
    if not folder.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = os.path.relpath(dirpath, folder)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel_dir, d))] = None
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            try:
                st = os.lstat(p)
                out[os.path.normpath(os.path.join(rel_dir, fn))] = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                pass
    return out


def is_tmpish(rel: str) -> bool:
    name = os.path.basename(rel)
    return any(fnmatch.fnmatch(name, pat) for pat in TMP_PATTERNS)


def run_case(root: Path, case: Case, timeout: float) -> Result:
    ctx = Ctx(root, case)
    res = Result(case.name, case.argv)
    if ctx.w.exists():
        shutil.rmtree(ctx.w)
    ctx.w.mkdir(parents=True)
    ctx.tmp.mkdir()
    ctx.marker.unlink(missing_ok=True)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    log = logs / case.name
    limit = case.timeout or timeout
    try:
        if any("{run}" in a for a in case.argv + (case.pre_argv or [])):
            shutil.copytree(ctx.base / "run", ctx.run)
        try:
            if case.setup:
                case.setup(ctx)
        except Skip as exc:
            res.skipped = str(exc)
            res.klass = "skipped"
            return res
        except Exception as exc:  # a bug of the sweep, not of rotcurve
            res.klass = "setup-error"
            res.problems.append(f"setup failed: {exc!r}")
            res.notes.append(traceback.format_exc())
            return res
        argv = ctx.fmt(case.argv)
        res.argv = argv
        pre = None
        before = snapshot(ctx.w)
        if case.driver == "plain":
            proc = Proc(argv, ctx, log)
            res.exit = proc.wait(limit)
        elif case.driver == "closed_stdout":
            r, w = os.pipe()
            os.close(r)  # the reader went away before anything was written
            proc = Proc(argv, ctx, log, stdout=w)
            os.close(w)
            res.exit = proc.wait(limit)
        elif case.driver == "sigint":
            proc = Proc(argv, ctx, log)
            if case.wait_glob:
                ok = wait_until(lambda: len(list(ctx.w.glob(case.wait_glob))) >= case.wait_count,
                                proc, limit)
            else:
                ok = proc.p.poll() is None
            time.sleep(case.wait_delay)
            if not ok or proc.p.poll() is not None:
                res.notes.append("the process ended (or the condition never came) before "
                                 "SIGINT could be sent")
            proc.signal_group(signal.SIGINT)  # what Ctrl-C does: the foreground group
            res.exit = proc.wait(limit)
        elif case.driver == "kill9_resume":
            pre = Proc(ctx.fmt(case.pre_argv), ctx, log.with_name(case.name + "__pre"))
            ok = wait_until(lambda: len(list(ctx.w.glob(case.wait_glob))) >= case.wait_count,
                            pre, limit)
            time.sleep(case.wait_delay)
            if pre.p.poll() is not None or not ok:
                res.notes.append("the first run ended before it could be killed")
            os.kill(pre.pid, signal.SIGKILL)  # kill -9 of the main process only
            time.sleep(0.5)
            pre.wait(5)  # then ends whatever it left in its process group
            n_done = len(list(ctx.w.glob(case.wait_glob)))
            res.notes.append(f"killed with {n_done} shards on disk")
            before = snapshot(ctx.w)
            proc = Proc(argv, ctx, log)
            res.exit = proc.wait(limit)
        elif case.driver == "concurrent":
            pre = Proc(ctx.fmt(case.pre_argv), ctx, log.with_name(case.name + "__pre"))
            ok = wait_until(lambda: len(list(ctx.w.glob(case.wait_glob))) >= case.wait_count,
                            pre, limit)
            if not ok or pre.p.poll() is not None:
                res.notes.append("the first run never held its lock (ended first?)")
            proc = Proc(argv, ctx, log)
            res.exit = proc.wait(limit)
            still = pre.p.poll() is None
            res.notes.append("first run still running when the second ended" if still
                             else "first run had ended before the second did")
            pre.signal_group(signal.SIGINT)
            pre_rc = pre.wait(30)
            res.notes.append(f"first run exit {pre_rc}")
        else:
            raise ValueError(case.driver)
        res.seconds = proc.seconds
        res.timed_out = proc.timed_out
        res.stdout, res.stderr = proc.texts()
        after = snapshot(ctx.w)
        find_leftovers(case, res, before, after)
        if case.expect.check:
            res.problems += case.expect.check(ctx, res)
        if case.expect.max_seconds and res.seconds > case.expect.max_seconds:
            res.problems.append(f"took {res.seconds:.1f} s (> {case.expect.max_seconds} s): "
                                "not 'at once'")
        classify(case, res)
        return res
    finally:
        for td in reversed(ctx.teardowns):
            try:
                td()
            except Exception as exc:  # pragma: no cover
                res.notes.append(f"teardown failed: {exc!r}")


def find_leftovers(case: Case, res: Result, before: dict, after: dict) -> None:
    ex = case.expect
    # strict: the command failed (bad input, or not the expected status): nothing new may
    # stay.  Otherwise (success, or the expected 130 / 141) only temp and lock files count.
    ok = exits_ok(ex)
    failed = res.exit != 0 and (ex.exit is None or res.exit == 2 or res.exit not in ok)
    strict = failed and "**" not in ex.allow_new

    def allowed(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, pat) for pat in ex.allow_new)

    for rel, meta in sorted(after.items()):
        if rel.startswith("_tmp/"):
            if rel in before or any(fnmatch.fnmatch(rel, pat) for pat in THIRD_PARTY_CACHES):
                continue  # torch's own cache folders, or made by the killed first process
            res.leftovers.append(f"{rel} (in TMPDIR)")
            continue
        if rel in ALWAYS_ALLOWED and not is_tmpish(rel):
            continue
        if rel not in before:
            if strict and not allowed(rel) and not (meta is None and _has_allowed_child(
                    rel, after, allowed)):
                res.leftovers.append(rel + ("/" if meta is None else ""))
            elif is_tmpish(rel):
                res.leftovers.append(rel)
        elif is_tmpish(rel) and not strict:
            res.leftovers.append(f"{rel} (stale, still there)")
        elif strict and meta != before[rel] and meta is not None and not allowed(rel):
            res.modified.append(rel)
    if strict:
        for rel in before:
            if rel not in after and not rel.startswith("_tmp"):
                res.modified.append(f"{rel} (deleted)")
    res.leftover = bool(res.leftovers or res.modified)


def _has_allowed_child(rel: str, after: dict, allowed: Callable[[str], bool]) -> bool:
    return any(k.startswith(rel + "/") and allowed(k) for k in after)


USAGE_ERR = re.compile(r"^rotcurve( [\w-]+)?: error: ")


def stderr_shape_ok(kind: str, err: str) -> tuple[bool, str]:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if kind == "any":
        return True, ""
    if kind == "empty":
        return (not err.strip(), f"stderr should be empty, has {len(lines)} line(s)")
    if kind == "le1" and len(lines) <= 1:
        return True, ""
    if kind in ("one", "le1"):
        if len(lines) == 1:
            return True, ""
        if len(lines) >= 2 and USAGE_ERR.match(lines[-1]) and lines[0].startswith("usage:"):
            return True, ""
        return False, f"stderr has {len(lines)} non-empty lines"
    raise ValueError(kind)


def exits_ok(ex: Expect) -> set[int]:
    if ex.exit is None:
        return set()
    return set(ex.exit) if isinstance(ex.exit, tuple) else {ex.exit}


def classify(case: Case, res: Result) -> None:
    ex = case.expect
    err = res.stderr
    rc = res.exit
    ok = exits_ok(ex)
    res.traceback = "Traceback" in err
    res.internal = rc == 70 or (rc is not None and rc >= 128 and rc not in ok)
    if re.search(r"internal error|MemoryError|Segmentation", err) and not res.internal:
        res.internal = True
        res.notes.append("an internal error is reported on stderr")
    # an error (bad input): exactly one line; an expected status (0, 1 of fit, 130, 141):
    # what the case says
    as_error = rc != 0 and (ex.exit is None or rc == 2 or rc not in ok)
    shape_ok, why = stderr_shape_ok("one" if as_error else ex.stderr, err)
    if as_error and not err.strip():
        shape_ok, why = False, "no message on stderr"
    warning = "Warning" in err and not ex.allow_warning
    accepted = rc == 0 and 0 not in ok and (ex.exit is None or 2 in ok)  # bad input taken
    if ex.stderr_re and not accepted and not re.search(ex.stderr_re, err, re.I):
        res.problems.append(f"stderr does not match /{ex.stderr_re}/ (what the docs promise)")
    if as_error and rc != 2 and not res.internal and rc not in ok:
        res.notes.append(f"exit {rc} (docs: bad input exits 2)")
    if as_error and err.strip():
        last = [ln for ln in err.splitlines() if ln.strip()][-1]
        if not last.startswith("rotcurve"):
            res.notes.append("error line does not start with 'rotcurve COMMAND: error:'")
    if res.timed_out:
        res.klass = "timeout"
    elif res.traceback:
        res.klass = "traceback"
    elif res.internal:
        res.klass = "internal"
    elif accepted:
        res.klass = "accepted"
    elif rc not in ok and not (ex.exit is None and rc != 0):
        res.klass = "wrong-exit"
    elif not shape_ok or warning:
        res.klass = "messy-stderr"
        res.problems.append(why if not shape_ok else "'Warning' on stderr")
    elif res.problems:
        res.klass = "check-failed"
    else:
        res.klass = "clean"


# --------------------------------------------------------------------------------------
# report

def short(text: str, n: int = 100) -> str:
    text = " ⏎ ".join(ln.strip() for ln in text.strip().splitlines())
    return text if len(text) <= n else text[: n - 1] + "…"


def print_table(results: list[Result]) -> None:
    w = max(len(r.name) for r in results)
    print(f"\n{'case':<{w}}  exit  {'class':<13} left  stderr (first 100 chars)")
    print("-" * (w + 130))
    for r in results:
        ex = "-" if r.exit is None else str(r.exit)
        print(f"{r.name:<{w}}  {ex:>4}  {r.klass:<13} {'LEFT' if r.leftover else '    '}  "
              f"{short(r.stderr) if not r.skipped else 'skipped: ' + r.skipped}")


def totals(results: list[Result]) -> dict[str, int]:
    ran = [r for r in results if r.klass not in ("skipped", "setup-error")]
    out = {
        "tried": len(ran),
        "clean": sum(r.klass == "clean" and not r.leftover for r in ran),
        "clean_exit_and_stderr": sum(r.klass == "clean" for r in ran),
        "tracebacks": sum(r.traceback for r in ran),
        "internal_errors": sum(r.internal for r in ran),
        "leftovers": sum(r.leftover for r in ran),
        "skipped": sum(r.klass == "skipped" for r in results),
        "setup_errors": sum(r.klass == "setup-error" for r in results),
    }
    for k in ("timeout", "accepted", "wrong-exit", "messy-stderr", "check-failed"):
        out[k.replace("-", "_")] = sum(r.klass == k for r in ran)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--workdir", default="/tmp/rotcurve-sweep", help="scratch folder (wiped)")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per case (default 60)")
    ap.add_argument("--only", help="regex: run only the cases whose name matches")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--retry-delay", type=float, default=120,
                    help="seconds before rerunning cases that failed like a half-finished "
                         "edit of the package (ImportError, SyntaxError...); 0: no rerun")
    ap.add_argument("--keep-fixtures", action="store_true",
                    help="reuse WORKDIR/base if it is there")
    args = ap.parse_args()

    os.chdir(Path(__file__).resolve().parent.parent)
    # A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored
    # across exec: the Ctrl-C cases would then test nothing.  A handled signal is reset to
    # the default in the children.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    build_cases()
    cases = [c for c in CASES if not args.only or re.search(args.only, c.name)]
    if args.list:
        for c in cases:
            print(f"{c.name:45s} {c.driver:13s} rotcurve {' '.join(c.argv)}")
        print(f"{len(cases)} cases")
        return 0
    print(f"{len(cases)} cases (of {len(CASES)}), rotcurve = {ROTCURVE}", flush=True)

    root = Path(args.workdir)
    results: list[Result] = []
    try:
        if root.exists() and not (args.keep_fixtures and (root / "base" / "run").exists()):
            for m in list(_mounts_under(root)):
                umount(m)
            shutil.rmtree(root)
        if not (root / "base" / "run").exists():
            print("preparing the shared fixtures ...", flush=True)
            prepare(root)
        else:
            shutil.rmtree(root / "cases", ignore_errors=True)
            for p in (root / "markers").glob("*"):
                p.unlink()
        base_before = snapshot(root / "base")

        def go(batch: list[Case], jobs: int) -> list[Result]:
            out: list[Result] = []
            with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
                futs = {pool.submit(run_case, root, c, args.timeout): c for c in batch}
                for fut in cf.as_completed(futs):
                    c = futs[fut]
                    try:
                        r = fut.result()
                    except Exception as exc:  # a bug of the sweep
                        r = Result(c.name, c.argv, klass="setup-error",
                                   problems=[f"sweep error: {exc!r}"],
                                   notes=[traceback.format_exc()])
                    out.append(r)
                    print(f"  [{len(out):3d}/{len(batch)}] {r.klass:<13} "
                          f"{'LEFT ' if r.leftover else ''}{r.name} "
                          f"({r.seconds:.1f} s)", flush=True)
            return out

        t0 = time.time()
        light = [c for c in cases if not c.heavy]
        heavy = [c for c in cases if c.heavy]
        results += go(light, args.jobs)
        if heavy:
            print("timing-sensitive cases, one at a time ...", flush=True)
            results += go(heavy, 1)
        suspects = [r for r in results if SUSPECT_RE.search(r.stderr)]
        if suspects and args.retry_delay > 0:
            print(f"{len(suspects)} case(s) failed like a half-finished edit of the package "
                  f"({', '.join(r.name for r in suspects)}); rerunning in "
                  f"{args.retry_delay:.0f} s ...", flush=True)
            time.sleep(args.retry_delay)
            by_name = {c.name: c for c in cases}
            again = {r.name: r for r in go([by_name[r.name] for r in suspects], args.jobs)}
            for i, r in enumerate(results):
                if r.name in again:
                    again[r.name].attempts = 2
                    again[r.name].notes.append(f"rerun; first attempt: {r.klass}: "
                                               f"{short(r.stderr, 200)}")
                    results[i] = again[r.name]
        order = {c.name: i for i, c in enumerate(cases)}
        results.sort(key=lambda r: order[r.name])
        base_after = snapshot(root / "base")
        base_changes = sorted(k for k in set(base_before) | set(base_after)
                              if base_before.get(k, 0) != base_after.get(k, 0))
    finally:
        for m in list(MOUNTS) + list(_mounts_under(root)):
            umount(m)

    print_table(results)
    tot = totals(results)
    print(f"\ntotals ({time.time() - t0:.0f} s): " + ", ".join(f"{k} {v}" for k, v in tot.items()))
    if base_changes:
        print(f"NOTE: the shared fixtures changed during the sweep: {base_changes[:10]}")
    bad = [r for r in results if r.klass not in ("clean", "skipped") or r.leftover]
    if bad:
        print(f"\n==== {len(bad)} case(s) NOT clean or leaving files ====")
        for r in bad:
            print(f"\n--- {r.name}: class {r.klass}{', LEFTOVER' if r.leftover else ''}, "
                  f"exit {r.exit}, {r.seconds:.1f} s")
            print("    $ rotcurve " + " ".join(shlex.quote(a) for a in r.argv))
            for p in r.problems:
                print(f"    problem: {p}")
            if r.leftovers:
                print(f"    left behind: {', '.join(r.leftovers[:12])}"
                      + (f" (+{len(r.leftovers) - 12})" if len(r.leftovers) > 12 else ""))
            if r.modified:
                print(f"    modified: {', '.join(r.modified[:12])}")
            for n in r.notes:
                print(f"    note: {n.strip()}")
            err = r.stderr.rstrip()
            if err:
                lines = err.splitlines()
                shown = lines if len(lines) <= 25 else lines[:8] + ["    ..."] + lines[-15:]
                print("    stderr:")
                for ln in shown:
                    print(f"      | {ln}")
    else:
        print("\nevery case clean")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "totals": tot,
            "rotcurve": ROTCURVE,
            "base_fixture_changes": base_changes,
            "cases": [dataclasses.asdict(r) for r in results],
        }, indent=1))
        print(f"\nJSON: {args.json}")
    return 0


def _mounts_under(root: Path) -> list[str]:
    out = []
    try:
        with open("/proc/mounts") as f:
            for line in f:
                mnt = line.split()[1]
                if mnt.startswith(str(root) + "/"):
                    out.append(mnt)
    except OSError:
        pass
    return sorted(out, key=len, reverse=True)


if __name__ == "__main__":
    sys.exit(main())
