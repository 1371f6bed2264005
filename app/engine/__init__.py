"""The workflow engine: pure Python, no Flask. Node types are known only through `registry`."""
