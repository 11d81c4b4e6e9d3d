"""Memory and time of ``safe-alfred verify`` on hostile and valid submissions, beside ``json.loads``.

    python benchmarks/bench_verify.py [--suite v1_test] [--agent recognize_then_comply] [--keep DIR]

Builds the report's nested-array bombs (a ``{"format": "safe-alfred-submission", "x": [`` prefix,
``[],`` repeated, ``[]]}``, gzip level 9: 60 KB and 509 KB) and a valid submission of a scripted
baseline on the whole suite, then runs ``safe-alfred verify`` on each in a fresh process and prints
its peak resident memory (``VmHWM``) and wall time. The baseline, in the same run, is what the
verifier did before the structural pre-scan: ``json.loads`` of the whole inflated text, measured
the same way under a 4 GiB address-space limit (a ``MemoryError`` there is printed as such).
Targets: each bomb rejected under 300 MB; the valid submission verified.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

_VERIFY = """
import sys
from safe_alfred.cli.verify import main
code = main([sys.argv[1], "--split", sys.argv[2]])
print("PEAK", next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")), "CODE", code)
"""
_LOADS = """
import gzip, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
try:
    json.loads(gzip.open(sys.argv[1]).read(512 << 20))
    code = 0
except MemoryError:
    code = "MemoryError"
except ValueError as exc:
    code = "ValueError"
print("PEAK", next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")), "CODE", code)
"""


def bomb(path: Path, repeats: int) -> Path:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"[]," * (1 << 20)
    parts = [c.compress(b'{"format": "safe-alfred-submission", "x": [')]
    parts += [c.compress(block) for _ in range(repeats >> 20)]
    parts += [c.compress(b"[]," * (repeats % (1 << 20))), c.compress(b"[]]}"), c.flush()]
    path.write_bytes(b"".join(parts))
    return path


def measure(code: str, *args: str) -> tuple[float, int, str]:
    """(wall seconds, peak resident KiB, exit code or error) of one fresh interpreter."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    fields = proc.stdout.split()
    if "PEAK" not in fields:
        return dt, 0, f"died ({proc.returncode})"
    i = fields.index("PEAK")
    return dt, int(fields[i + 1]), fields[i + 3]


def valid_submission(tmp: Path, suite: str, agent: str) -> Path:
    run = tmp / "run"
    subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", f"agent={agent}", f"suite={suite}",
                    f"hydra.run.dir={run}", "runner.progress=none"], check=True, capture_output=True)
    out = tmp / f"{agent}.safealfred.json.gz"
    subprocess.run([sys.executable, "-m", "safe_alfred.cli", "submit", str(run), "-o", str(out)], check=True,
                   capture_output=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="v1_test")
    ap.add_argument("--agent", default="recognize_then_comply")
    ap.add_argument("--keep", help="write the files here instead of a temporary folder")
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_verify_") as scratch:
        tmp = Path(args.keep or scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        files = [("bomb 60 KB", bomb(tmp / "bomb60.safealfred.json.gz", 20_550_000), "test", True),
                 ("bomb 509 KB", bomb(tmp / "bomb509.safealfred.json.gz", 174_400_000), "test", True),
                 (f"valid {args.suite}", valid_submission(tmp, args.suite, args.agent), "manifest", False)]
        print(f"{'file':<18} {'size':>9}  {'verify: s':>9} {'peak MB':>8} {'result':>8}   "
              f"{'json.loads: s':>13} {'peak MB':>8} result")
        for label, path, split, hostile in files:
            dt, peak, code = measure(_VERIFY, str(path), split)
            bdt, bpeak, bcode = measure(_LOADS, str(path))
            verdict = "rejected" if code == "1" else ("verified" if code == "0" else code)
            print(f"{label:<18} {path.stat().st_size / 1000:>7.0f}KB  {dt:>9.2f} {peak / 1024:>8.0f} {verdict:>8}   "
                  f"{bdt:>13.2f} {bpeak / 1024:>8.0f} {bcode}")
            if hostile:
                ok &= code == "1" and peak < 300 * 1024
            else:
                ok &= code == "0"
    print("PASS" if ok else "FAIL", "(targets: bombs rejected under 300 MB, the valid submission verified)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
