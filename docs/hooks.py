"""MkDocs hook: the docs may link to files of the repository outside ``docs/``, and such links are checked.

A page links to a repository file the way a reader on a checkout follows it: ``../benchmarks/results/x.md``
from ``docs/benchmarks.md``. MkDocs only knows the files under ``docs/``, so this hook

- checks that every such target exists (a missing one fails the build, like a broken link between pages);
- publishes it in the site under ``repo/<path>`` (a markdown file as a page outside the nav, any other file
  copied as it is) and points the page's link there;
- does the same, transitively, for the relative links of the markdown files it publishes, whose own links
  keep working because ``repo/`` mirrors the repository's layout.

It also points ``pymdownx.snippets`` at the repository root, so ``--8<-- "proto/slot/v1/slot.proto"`` includes
that file wherever ``mkdocs`` runs from.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

PREFIX = "repo"
"""Where repository files outside docs/ appear in the site."""

_LINK = re.compile(r"(\]\()([^)\s]+)(\))")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def _root(config: MkDocsConfig) -> Path:
    return Path(config.docs_dir).resolve().parent


def _docs_prefix(config: MkDocsConfig) -> str:
    return Path(config.docs_dir).resolve().relative_to(_root(config)).as_posix()


def _relative_links(markdown: str) -> list[str]:
    """Paths of the relative links of a markdown text (code blocks left out; anchors and queries cut)."""
    links = []
    for match in _LINK.finditer(_FENCE.sub("", markdown)):
        url = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", url) or url.startswith(("#", "/")):
            continue
        links.append(re.split(r"[#?]", url, maxsplit=1)[0])
    return [link for link in links if link]


def _repo_target(directory: str, link: str) -> str:
    """The repository path a link names from a file in ``directory`` (both relative to the repository root)."""
    return posixpath.normpath(posixpath.join(directory, link))


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    snippets = config.mdx_configs.setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [str(_root(config))]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root, docs = _root(config), _docs_prefix(config)
    queue = [(f"{docs}/{page.src_uri}", Path(page.abs_src_path)) for page in files.documentation_pages()]
    published: set[str] = set()
    missing: list[str] = []
    while queue:
        source, path = queue.pop()
        for link in _relative_links(path.read_text(encoding="utf-8")):
            target = _repo_target(posixpath.dirname(source), link)
            if target == docs or target.startswith(f"{docs}/"):
                continue  # a page of the site: MkDocs checks it
            if target == ".." or target.startswith("../") or not (root / target).is_file():
                missing.append(f"{source}: {link} (no file {target} in the repository)")
                continue
            if target in published:
                continue
            published.add(target)
            files.append(File.generated(config, f"{PREFIX}/{target}", abs_src_path=str(root / target),
                                        inclusion=InclusionLevel.NOT_IN_NAV))
            if target.endswith(".md"):
                queue.append((target, root / target))
    if missing:
        raise PluginError("links to files that do not exist:\n  " + "\n  ".join(sorted(missing)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Points a docs page's links to repository files at their published copies under ``repo/``."""
    if page.file.src_uri.startswith(f"{PREFIX}/"):
        return markdown  # repo/ mirrors the repository: its relative links already resolve
    docs = _docs_prefix(config)
    here = posixpath.dirname(page.file.src_uri)

    def point(match: re.Match[str]) -> str:
        url = match.group(2)
        path, _, rest = url.partition("#")
        if not path or re.match(r"^[a-z][a-z0-9+.-]*:", path) or path.startswith("/"):
            return match.group(0)
        target = _repo_target(posixpath.join(docs, here), path)
        if target == docs or target.startswith(f"{docs}/"):
            return match.group(0)
        new = posixpath.relpath(f"{PREFIX}/{target}", here or ".") + (f"#{rest}" if rest else "")
        return f"{match.group(1)}{new}{match.group(3)}"

    parts, last = [], 0
    for fence in _FENCE.finditer(markdown):  # code blocks stay as they are
        parts += [_LINK.sub(point, markdown[last:fence.start()]), fence.group(0)]
        last = fence.end()
    return "".join(parts + [_LINK.sub(point, markdown[last:])])
