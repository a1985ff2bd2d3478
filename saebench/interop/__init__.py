"""Reading and writing other tools' result formats (SAEBench's result JSON).

Example:
    >>> from saebench.interop import export_saebench_json, import_saebench_json
"""

from saebench.lazy import lazy_exports

_EXPORTS = {
    "export_saebench_json": "saebench.interop.saebench_json",
    "import_saebench_json": "saebench.interop.saebench_json",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
