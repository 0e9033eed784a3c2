"""Copy nhsuk-frontend's compiled assets into static/, with no CDN references left.

The compiled stylesheet loads the Frutiger web font from assets.nhs.uk; NHS networks
may block it, so the @font-face rules are dropped (the font stack falls back to Arial)
and icon URLs are made relative so they resolve under /static/.
"""

import re
import shutil
import sys
from pathlib import Path


def main(dist: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    css = (dist / "nhsuk-frontend.min.css").read_text()
    css = re.sub(r"@font-face\{[^}]*assets\.nhs\.uk[^}]*\}", "", css)
    css = css.replace("url(/assets/", "url(assets/")
    if "https://" in css:
        raise SystemExit("the stylesheet still refers to an external URL")
    (target / "nhsuk-frontend.min.css").write_text(css)
    shutil.copy(dist / "nhsuk-frontend.min.js", target / "nhsuk-frontend.min.js")
    shutil.rmtree(target / "assets", ignore_errors=True)
    shutil.copytree(dist / "assets", target / "assets")
    (target / "assets" / "manifest.json").unlink(missing_ok=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
