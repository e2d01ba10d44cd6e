"""Regenerate the README's screenshot of a failing verification report.

    python docs/screenshot.py        # writes docs/images/report.png (needs Debian's chromium)

The candidate is the catalogue's ``ties_last`` bug (a max pool that routes a
tie to the last maximum), verified with seed 0 so the page is reproducible.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.browser import Browser, find_chromium  # noqa: E402

CANDIDATE = "tests.candidates.catalogue:ties_last"
SCREENSHOT = ROOT / "docs" / "images" / "report.png"


def main() -> int:
    chromium = find_chromium()
    if chromium is None:
        sys.exit("docs/screenshot.py needs a Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "report.html"
        command = [sys.executable, "-m", "cnnref", "verify", "--impl", CANDIDATE]
        command += ["--ops", "pool", "--seed", "0", "--report", str(page)]
        subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        with Browser(chromium, width=1280, height=1100) as browser:
            browser.open(page)
            browser.screenshot(SCREENSHOT)
    print(f"wrote {SCREENSHOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
