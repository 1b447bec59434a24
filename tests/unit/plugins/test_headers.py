"""Every plugins/**/*.py starts with the collection's one Python-3-only header.

Modules (plugins/modules)::

    #!/usr/bin/python
    # GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
    # optional comment lines, e.g. "Documentation only: ..."

    from __future__ import annotations

Everything else (module_utils, action, filter, doc_fragments)::

    # GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
    \"\"\"One summary line (module_utils: saying it is private to the collection).

    Optional further paragraphs.
    \"\"\"

    from __future__ import annotations

No encoding cookie, no ``__metaclass__ = type``, no ``absolute_import, division, print_function``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "plugins"
FILES = sorted(str(path.relative_to(ROOT)) for path in PLUGINS.rglob("*.py"))
LICENSE = "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)"
SHEBANG = "#!/usr/bin/python"
PRIVATE = re.compile(r"private to (the (kdump\.fleet )?collection|kdump\.fleet)", re.IGNORECASE)


def _parts(relative):
    text = (ROOT / relative).read_text(encoding="utf-8")
    return text, text.splitlines(), ast.parse(text)


def _future_imports(tree):
    return [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "__future__"]


def test_the_files_are_found():
    kinds = {Path(relative).parts[1] for relative in FILES}
    assert {"modules", "module_utils", "action", "filter", "doc_fragments"} <= kinds


@pytest.mark.parametrize("relative", FILES)
def test_python3_only_header(relative):
    text, lines, tree = _parts(relative)
    assert not re.search(r"^#.*coding[:=]", "\n".join(lines[:2]), re.MULTILINE), "no encoding cookie"
    assert "__metaclass__" not in text
    futures = _future_imports(tree)
    assert [[alias.name for alias in node.names] for node in futures] == [["annotations"]]
    assert futures[0] in tree.body, "the __future__ import is at the top level"


@pytest.mark.parametrize("relative", [f for f in FILES if f.startswith("plugins/modules/")])
def test_module_header(relative):
    lines, tree = _parts(relative)[1:]
    assert lines[:2] == [SHEBANG, LICENSE]
    assert ast.get_docstring(tree) is None, "modules carry DOCUMENTATION, not a docstring"
    first = tree.body[0]
    assert isinstance(first, ast.ImportFrom)
    assert first.module == "__future__"
    # Between the license line and the import only comment lines, then one blank line.
    between = lines[2 : first.lineno - 1]
    assert between
    assert between[-1] == ""
    assert all(line.startswith("# ") for line in between[:-1]), between


@pytest.mark.parametrize("relative", [f for f in FILES if not f.startswith("plugins/modules/")])
def test_plugin_header(relative):
    lines, tree = _parts(relative)[1:]
    assert lines[0] == LICENSE
    assert lines[1].startswith('"""')
    docstring = ast.get_docstring(tree)
    assert docstring, "a docstring right after the license line"
    summary = docstring.split("\n\n", 1)[0]
    assert "\n" not in summary, "the summary is one line"
    assert summary.endswith(".")
    if relative.startswith("plugins/module_utils/"):
        assert PRIVATE.search(" ".join(docstring.split())), "module_utils say they are private to the collection"
    first, second = tree.body[0], tree.body[1]
    assert isinstance(first, ast.Expr)
    assert isinstance(second, ast.ImportFrom)
    assert second.module == "__future__"
    assert lines[first.end_lineno : second.lineno - 1] == [""], "one blank line between docstring and import"
