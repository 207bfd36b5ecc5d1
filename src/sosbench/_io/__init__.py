"""The one place that reads and writes sosbench's plain files (``_read``, ``_yaml``, ``_write``, ``_names``).

Every layer imports from here (like ``errors``), so the guarantees hold everywhere at once:

- writes are atomic (temporary file, fsync, ``os.replace``): a kill leaves the old file or the new one;
- files get the mode the user's umask allows (``mkstemp`` alone makes 0600, which locks other users of a
  shared run folder or mirror out);
- reads fail with one ``SosbenchError`` line naming the file (and line) instead of a traceback, for
  missing, unreadable, non-UTF-8 or non-JSON input;
- reads are bounded whatever the file holds (see "reads" below): regular files only, sizes checked
  before reading, JSONL streamed, JSON and YAML nesting and YAML aliases limited;
- any valid JSON string round-trips through the JSON writers (lone surrogates are escaped);
- a folder that one process writes is held with a lock file (``filelock``), so a second process on the same
  folder is refused with one line instead of corrupting it;
- names that come from users (model names, judge ids) map to file names that cannot escape their folder
  and cannot collide.
"""

from sosbench._io._checks import file_mode
from sosbench._io._names import (
    LOCK_FILE,
    MODEL_PATH_ARGS,
    folder_lock,
    inside,
    last_path_part,
    model_name_from_args,
    safe_file_name,
)
from sosbench._io._read import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    MAX_YAML_ALIAS_NODES,
    MAX_YAML_BYTES,
    check_depth,
    iter_jsonl,
    iter_lines,
    open_regular,
    parse_json,
    read_bytes,
    read_json,
    read_json_object,
    read_jsonl,
    read_text,
)
from sosbench._io._write import (
    LONE_SURROGATE,
    append_jsonl,
    cut_torn_tail,
    json_text,
    write_bytes_atomic,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)
from sosbench._io._yaml import load_yaml, read_yaml

__all__ = [
    "LOCK_FILE",
    "LONE_SURROGATE",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
    "MAX_YAML_ALIAS_NODES",
    "MAX_YAML_BYTES",
    "MODEL_PATH_ARGS",
    "append_jsonl",
    "check_depth",
    "cut_torn_tail",
    "file_mode",
    "folder_lock",
    "inside",
    "iter_jsonl",
    "iter_lines",
    "json_text",
    "last_path_part",
    "load_yaml",
    "model_name_from_args",
    "open_regular",
    "parse_json",
    "read_bytes",
    "read_json",
    "read_json_object",
    "read_jsonl",
    "read_text",
    "read_yaml",
    "safe_file_name",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_jsonl_atomic",
    "write_text_atomic",
]
