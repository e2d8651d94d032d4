"""The version of each real tool a fake stands for: the one list (README.md points here).

A stub is a claim about someone else's code at one version: the pin it was checked against, the
SHA and tag of `.github/actions/pins`. tests/test_bake.py compares these with the pins and with
every `uses:` of the baked workflows, so a Dependabot bump fails until the stub has been read
again against the new version's source and its entry here moved to the new pin.
"""

from __future__ import annotations

from typing import NamedTuple


class Read(NamedTuple):
    sha: str  # the pinned commit the stub's replay was checked against
    version: str  # its tag, as the pin's comment names it
    source: str = ""  # where the source was read, when that version's was not available


CACHE = Read("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5")
STUBS = {  # every third-party action the workflows use, by the name harness/act.py stubs it under
    "actions/attest": Read("1e69f48acb82d1966a394da916b4c1698aa569d6", "v4.2.2"),
    "actions/cache/restore": CACHE,
    "actions/cache/save": CACHE,
    "actions/create-github-app-token": Read("bcd2ba49218906704ab6c1aa796996da409d3eb1", "v3.2.0"),
    "actions/download-artifact": Read("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "actions/upload-artifact": Read(
        "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a", "v7.0.1", "v7.0.1 not stored: read at v7.0.0 (bbbca2dd)"
    ),
    "astral-sh/setup-uv": Read("c18668ad3cf93ea998bef934396af7bb5c839dc7", "v10.2.0"),
    "docker/build-push-action": Read("53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
    "docker/login-action": Read(
        "dbcb813823bdd20940b903addbd779551569679f", "v4.6.0", "v4.6.0 not stored: read at v4.1.0"
    ),
    "docker/setup-buildx-action": Read("37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    "marocchino/sticky-pull-request-comment": Read("0ea0beb66eb9baf113663a64ec522f60e49231c0", "v3.0.4"),
    "peter-evans/create-pull-request": Read("5f6978faf089d4d20b00c7766989d076bb2fc7f1", "v8.1.1"),
}
# Actions act runs itself, whatever the pin: nothing of ours to re-read.
NOT_STUBBED = {"actions/checkout": "act's own checkout copies the local repository"}
# bin/gh: not pinned (runners ship their own gh, later than this). Every command, `release download`
# and `attestation verify` included, was read at this commit (README.md names the files); cobra's flag
# groups, go-gh's term and tableprinter and sigstore-go's SAN matcher were read at newer commits than
# gh's go.mod pins (cobra v1.8.1, go-gh v2.11.0, sigstore-go v0.6.2): those were not stored.
GH = Read("44ee1776", "v2.60.0", "cli/cli at v2.60.0, the newest stored")
