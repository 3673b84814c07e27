"""Markdown tables with aligned columns, ready to paste into docs/performance.md."""


def table(headers, rows, right=()):
    """headers: names; rows: lists of cells (str()ed); right: indexes of right-aligned columns."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(header), *(len(row[i]) for row in cells)) if cells else len(header) for i, header in enumerate(headers)
    ]

    def line(row):
        return (
            "| "
            + " | ".join(
                cell.rjust(width) if i in right else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths))
            )
            + " |"
        )

    rule = (
        "|"
        + "|".join(("-" * (width + 1) + ":") if i in right else ("-" * (width + 2)) for i, width in enumerate(widths))
        + "|"
    )
    return "\n".join([line(headers), rule, *map(line, cells)])


def rate(value):
    """Records per second, to three significant figures, with thousands separators."""
    if value >= 100:
        return f"{round(value, -len(str(int(value))) + 3):,.0f}"
    return f"{value:.3g}"


def duration(seconds):
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
