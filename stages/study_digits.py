"""study_digits: bottleneck size on sklearn digits (reconstruction, RF, codes, synthetic digits): metrics/studies/digits.json, plots/studies/digits/."""

from aelab.cli import stage_main
from aelab.studies.digits import study_digits

if __name__ == "__main__":
    stage_main("study_digits", study_digits, doc=__doc__)
