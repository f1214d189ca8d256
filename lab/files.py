"""Files written whole or not at all: write to a temporary file beside the target, then rename."""

import json
import math
import os
import tempfile
from pathlib import Path


def writable_directory(path) -> Path:
    """Create `path` if needed and check that files can be written there, before any computation."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ValueError(f"cannot write to the output directory {str(path)!r} ({error.strerror}): "
                         "choose another one.") from None
    return path


def write_atomic(path, write):
    """Call `write(file_object)` on a temporary binary file, then rename it to `path`.

    A crash or an exception inside `write` leaves no partial file at `path`
    (and any earlier file there untouched).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory: name a file in it, e.g. {str(path / 'results.json')!r}.")
    if not path.parent.is_dir():
        raise ValueError(f"{str(path.parent)!r}, where {path.name!r} would be written, is not a directory (missing, or "
                         "a file): create it first, e.g. Path(...).mkdir(parents=True).")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_text(numbers: dict) -> str:
    """`numbers` as indented standard JSON (RFC 8259): numpy and JAX arrays as lists, NaN and infinities as null
    (Python's own NaN and Infinity tokens are not JSON: jq, JavaScript and most parsers refuse the file);
    TypeError for what JSON cannot hold."""
    return json.dumps(_finite_or_null(numbers), indent=2, sort_keys=False, allow_nan=False) + "\n"


def _finite_or_null(value):
    """`value` with arrays as lists and every non-finite float as None, containers rebuilt in their order."""
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return _finite_or_null(_plain(value))


def save_json(path, numbers: dict):
    """Write `numbers` as indented JSON, atomically."""
    text = json_text(numbers)
    return write_atomic(path, lambda file: file.write(text.encode()))


def save_figure(path, figure, dpi: int = 120):
    """Save a matplotlib figure as PNG, atomically."""
    return write_atomic(path, lambda file: figure.savefig(file, format="png", dpi=dpi, bbox_inches="tight"))


def _plain(value):
    """JSON for numpy and JAX scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
