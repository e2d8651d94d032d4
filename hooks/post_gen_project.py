"""Remove the tool caches a local clone's template folder may hold (Python, pytest or ruff run there).

cookiecutter 2.7 cannot leave files out (cookiecutter#810) and renders every file it does not take
for binary as Jinja, which fails on a cache's bytes; cookiecutter.json lists the caches in
`_copy_without_render`, so they are copied as they are, and this removes the copies. The template
ships no folder of these names, so nothing else is removed.
"""

import shutil
from pathlib import Path

CACHES = ("__pycache__", ".pytest_cache", ".ruff_cache")

for cache in [path for name in CACHES for path in Path.cwd().rglob(name)]:
    shutil.rmtree(cache, ignore_errors=True)
