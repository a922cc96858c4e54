"""The command line, ``python -m sd_scripts_bridge install|doctor|plan|train``: arguments in, the
engine, plan and job modules called, their results and errors printed."""
