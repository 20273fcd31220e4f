"""report: report/index.html and report/README.md from metrics/ and plots/."""

from aelab.core.cli import stage_main
from aelab.report import build_report

if __name__ == "__main__":
    stage_main("report", build_report, doc=__doc__)
