"""Side-by-side speed comparisons behind ``genlab bench``.

Each ``genlab/bench/_<name>.py`` defines ``command`` (a Typer command function taking at least
``json_out: bool = typer.Option(False, "--json")``) and becomes ``genlab bench <name>``.
A benchmark times genlab and its reference in the same run and reports the ratio.
"""
