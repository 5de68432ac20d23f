"""Study-specific scripts and tables, one folder per study (run as ``python -m studies.STUDY.SCRIPT``)."""
