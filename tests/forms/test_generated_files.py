"""The committed notebook and script are what tools/build_forms.py writes from the page now."""

from __future__ import annotations


import pytest

import build_forms
from project import ROOT


@pytest.mark.parametrize("path", list(build_forms.outputs()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_generated_file_is_fresh(path, unknown_urls):
    expected = build_forms.outputs()[path]
    assert path.exists() and path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(ROOT)} が古くなっています。`python tools/build_forms.py` で生成し直してください。"
    )
