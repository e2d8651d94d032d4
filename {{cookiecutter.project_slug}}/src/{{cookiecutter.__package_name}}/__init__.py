"""The model's code.

See README.md for the loop and `{{ cookiecutter.project_slug }} --help` for the verbs.
"""
