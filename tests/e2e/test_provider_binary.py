"""The provider binary outside Terraform: what someone who runs it by hand sees."""

import subprocess


def test_running_the_provider_by_hand_explains_itself(provider_binary):
    # No environment at all: no magic cookie, no PLUGIN_* variables.
    proc = subprocess.run(
        [str(provider_binary)],
        env={},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0
    assert "terraform" in proc.stderr.lower(), f"stderr: {proc.stderr!r}"
    assert "|grpc|" not in proc.stdout, "no handshake line without the magic cookie"
