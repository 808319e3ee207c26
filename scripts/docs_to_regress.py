#!/usr/bin/env python3
"""Turn the examples of docs/*.md into one pg_regress test.

An example is a ```sql block immediately followed by an ```output block.
The sql block goes into docs.sql; the expected file is what psql -a prints:
the statement as written, then the output block, then a blank line (none
after an error message, as psql prints it). Blocks
tagged ```sql-setup run but their output is not shown in the docs. Blocks
tagged ```sql-admin are a DBA's commands (creating roles, installing,
upgrading: they need a superuser and change the cluster) and are not run
here; tests/sql/privileges.sql and tests/sql/upgrade.sql run the same steps.
"""
import pathlib
import re
import sys

FENCE = re.compile(r"^```([\w-]*)\s*$")


def blocks(text):
    """Yield (tag, body) for each fenced block, in order."""
    tag, body = None, []
    for line in text.splitlines():
        m = FENCE.match(line)
        if m and tag is None:
            tag, body = m.group(1), []
        elif line.startswith("```") and tag is not None:
            yield tag, "\n".join(body)
            tag = None
        elif tag is not None:
            body.append(line)


def main(docs_dir, sql_out, expected_out):
    sql, expected = [], []
    for path in sorted(pathlib.Path(docs_dir).glob("*.md")):
        items = list(blocks(path.read_text()))
        header = f"-- examples from docs/{path.name}"
        sql.append(header)
        expected.append(header)
        for i, (tag, body) in enumerate(items):
            if tag == "sql":
                nxt = items[i + 1] if i + 1 < len(items) else None
                if not nxt or nxt[0] != "output":
                    sys.exit(f"{path}: a sql example without an output block:\n{body}")
                sql.append(body)
                expected.append(body)
                expected.append(nxt[1])
                if not nxt[1].startswith(("ERROR:", "WARNING:", "NOTICE:")):
                    expected.append("")  # psql ends a result table with a blank line
            elif tag == "sql-setup":
                sql.append(body)
                expected.append(body)
    pathlib.Path(sql_out).write_text("\n".join(sql) + "\n")
    pathlib.Path(expected_out).write_text("\n".join(expected) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
