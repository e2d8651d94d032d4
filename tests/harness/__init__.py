"""What the template's tests share (conftest.py holds only fixtures; tests never import each other).

- project: bake the template, run commands in a baked project (`run`, `cli`, `python`), git.
- params: edit a project's params.yaml; QUICK, the candidate a review trains in seconds.
- act: run a generated workflow under act, third-party actions stubbed (tests/fakes).
- service: run a project's service and talk to it over HTTP.
- postgres: a throw-away PostgreSQL server.
"""
