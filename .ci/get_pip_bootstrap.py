"""Stand-in for pypa's get-pip.py that ansible-test --venv runs in each new venv.

ansible-test downloads get-pip.py from ci-files.testing.ansible.com, which this
project's machines cannot reach (only PyPI is). This script does the same job
with what the venv already has: ensurepip, then pip installs the requested
packages from PyPI. The Makefile places it where ansible-test looks for its cache.
"""

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True)
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    return subprocess.run([sys.executable, "-m", "pip", "install", *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
