"""tools/time_suite.py: its ``--log`` appends each line to the measurements log (tools/measurements.md)."""

from __future__ import annotations


def test_time_suite_log_appends_each_line_to_the_measurements_log(tmp_path, monkeypatch, capsys):
    """`tools/time_suite.py --log` prints its line as before and appends it to the log's last section."""
    import time_suite

    real = time_suite.LOG.read_text(encoding="utf-8")
    assert [r for r in real.splitlines() if r.startswith("## ")][-1] == time_suite.LOG_HEADING
    log = tmp_path / "measurements.md"
    log.write_text(real, encoding="utf-8")
    monkeypatch.setattr(time_suite, "LOG", log)
    runs = ["2026-12-07 10:00 abc1234 probe 0.400 s  wall 80.0 s  cpu 120.0 s  | 1 passed", "second run"]
    lines = iter(runs)
    monkeypatch.setattr(time_suite, "time_once", lambda args: next(lines))
    assert time_suite.main(["--runs", "2", "--log"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == runs  # printed as before
    after = log.read_text(encoding="utf-8")
    before = real.rstrip("\n")
    gap = "\n" if before.splitlines()[-1].startswith("- ") else "\n\n"  # a list starts after a blank line, once
    assert after == f"{before}{gap}- `{runs[0]}`\n- `{runs[1]}`\n"
    # A log whose last section is another one: a Japanese message before any run, the file untouched.
    log.write_text(real + "\n## 別の節\n", encoding="utf-8")
    assert time_suite.main(["--log"]) == 1
    assert "最後の節" in capsys.readouterr().err and log.read_text(encoding="utf-8") == real + "\n## 別の節\n"
