"""The book's home, copied from `repository:` in _config.yml by tools/colab_cell.py.

Do not edit: change _config.yml, then run `python tools/colab_cell.py`
(tests/test_repository_url.py checks that the two agree).
"""

REPOSITORY_URL = "https://github.com/dlbook-executable/dlbook"
REPOSITORY_BRANCH = "main"
