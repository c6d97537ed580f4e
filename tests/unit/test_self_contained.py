"""The repository stands on its own: nothing in it points at documents or files a user who cloned it lacks."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not find itself.
OUTSIDE = re.compile(
    "|".join([r"\.\./" + "shared", "CONTR" + "ACT", "EMUL" + r"ATOR\.md", "STY" + r"LE\.md"])
)


def tracked_files() -> list[Path]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listing.decode().split("\0") if name]


def test_nothing_refers_to_files_outside_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in tracked_files()
        if path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)


def github_anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_documents_the_readme_links_exist():
    readme = (ROOT / "README.md").read_text()
    for target, anchor in re.findall(r"\]\(([^)#:]+)(?:#([^)]*))?\)", readme):
        assert (ROOT / target).exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / target).read_text(), flags=re.M)
            assert anchor in {github_anchor(heading) for heading in headings}, f"{target}#{anchor}"
