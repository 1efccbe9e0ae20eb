"""The package's own code, shown in the book: every listing is read from the source file when a chapter runs.

A chapter shows how an idea is implemented with ``colorlab.show_source(colorlab.rgb_to_lab)``: the function's
current source is cut out of its module file (as Sphinx's ``literalinclude`` with ``:pyobject:`` does) and
displayed as a fenced Python block headed by its file and line numbers. The display is Markdown, so it renders as
a highlighted code block both in the HTML book (myst-nb renders Markdown outputs) and in JupyterLab. There is no
copy of the code anywhere: a change to the package changes the book at its next build.

Targets are functions, classes and methods (``colorlab.models.ColorizationNet.__init__``), or a dotted name as a
string, which also reaches module-level constants (``"colorlab.models.ECCV16_BLOCKS"``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path

#: Listings are headed by paths relative to the folder that holds the ``colorlab`` package.
_PACKAGE_PARENT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Listing:
    """The source of one object: ``code`` is lines ``first``–``last`` of ``path``, dedented."""

    name: str  # dotted name, e.g. "colorlab.color.rgb_to_lab"
    path: str  # e.g. "colorlab/color.py"
    first: int
    last: int
    code: str

    @property
    def lines(self) -> int:
        """Number of lines shown."""
        return self.last - self.first + 1

    def _repr_markdown_(self) -> str:
        return f"`{self.path}`, lines {self.first}–{self.last}\n\n```python\n{self.code}\n```\n"

    def __str__(self) -> str:
        return f"# {self.path}, lines {self.first}-{self.last}\n{self.code}"


class Listings(tuple):
    """Several listings displayed one after the other (what :func:`show_source` returns)."""

    def _repr_markdown_(self) -> str:
        return "\n".join(listing._repr_markdown_() for listing in self)

    def __str__(self) -> str:
        return "\n\n".join(str(listing) for listing in self)


def _split_target(target) -> tuple[str, str]:
    """(module name, qualified name inside it) of a function, class, method or dotted string."""
    if isinstance(target, str):
        parts = target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            try:
                importlib.import_module(module)
            except ImportError:
                continue
            return module, ".".join(parts[cut:])
        raise ValueError(f"target {target!r} does not start with an importable module name")
    target = inspect.unwrap(target)
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        raise TypeError(
            f"target must be a function, a class, a method or a dotted name (str); "
            f"got {type(target).__name__}"
        )
    return target.__module__, target.__qualname__


def _find(tree: ast.Module, qualname: str):
    """The AST node of ``qualname`` (classes and functions nested by dots, or a module-level name)."""
    body, node = tree.body, None
    for part in qualname.split("."):
        node = None
        for candidate in body:
            if isinstance(candidate, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if candidate.name == part:
                    node = candidate
            elif isinstance(candidate, (ast.Assign, ast.AnnAssign)):
                targets = candidate.targets if isinstance(candidate, ast.Assign) else [candidate.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    node = candidate
        if node is None:
            return None
        body = getattr(node, "body", [])
    return node


def listing(target) -> Listing:
    """The current source of ``target`` (function, class, method, or dotted name of any of these or of a
    module-level constant), with its decorators and the ``#:`` comment lines right above it.

    Raises:
        TypeError: ``target`` is neither a function, a class nor a string.
        ValueError: the name is not defined in its module's source.

    >>> listing("colorlab.bins.NUM_BINS").code.splitlines()[-1]
    'NUM_BINS = 313'
    """
    module_name, qualname = _split_target(target)
    path = Path(inspect.getsourcefile(importlib.import_module(module_name))).resolve()
    lines = path.read_text(encoding="utf-8").splitlines()
    node = _find(ast.parse("\n".join(lines)), qualname)
    if node is None:
        raise ValueError(f"{qualname!r} is not defined in the source of {module_name}")
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    while first > 1 and lines[first - 2].strip().startswith("#:"):
        first -= 1
    code = textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno]))
    try:
        shown_path = path.relative_to(_PACKAGE_PARENT).as_posix()
    except ValueError:
        shown_path = path.name
    return Listing(f"{module_name}.{qualname}", shown_path, first, node.end_lineno, code)


def show_source(*targets) -> Listings:
    """Display the source of one or more package objects in a notebook (see the module docstring).

    Returns:
        :class:`Listings`; as the last expression of a cell it displays as highlighted code blocks, each headed
        by its file and line numbers. ``str()`` gives plain text.
    """
    if not targets:
        raise ValueError("show_source needs at least one target")
    return Listings(listing(target) for target in targets)
