"""The library's two plots, drawn server-side with matplotlib: photos per month stacked by class,
and photos per class. SVG text, so a page or the report embeds them as they are."""

import io

MAX_MONTH_TICKS = 24


def per_month_svg(counts: dict) -> str:
    """`counts` as `stats()` returns it → a stacked bar chart of photos per month."""
    figure, axes = _figure()
    months = [entry["month"] for entry in counts["per_month"]]
    bottom = [0] * len(months)
    for label in counts["classes"]:
        heights = [entry["counts"].get(label, 0) for entry in counts["per_month"]]
        axes.bar(range(len(months)), heights, bottom=bottom, label=label)
        bottom = [b + h for b, h in zip(bottom, heights)]
    step = max(1, len(months) // MAX_MONTH_TICKS)
    axes.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    axes.set_ylabel("photos")
    _whole_numbers(axes.yaxis)
    axes.set_title("Photos per month, by class")
    if counts["classes"]:
        axes.legend(fontsize="small", ncols=2)
    return _svg(figure)


def per_class_svg(counts: dict) -> str:
    """`counts` as `stats()` returns it → a bar chart of photos per class."""
    figure, axes = _figure()
    labels = counts["classes"]
    axes.barh(range(len(labels)), [counts["per_class"][label] for label in labels])
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()  # the largest class on top
    axes.set_xlabel("photos")
    _whole_numbers(axes.xaxis)
    axes.set_title("Photos per class")
    return _svg(figure)


def _figure():
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in web threads

    figure = Figure(figsize=(7, 3.2), layout="constrained")
    return figure, figure.add_subplot()


def _whole_numbers(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))  # photos come whole: no 0.25 ticks


def _svg(figure) -> str:
    from matplotlib import rc_context

    buffer = io.StringIO()
    # text stays text: smaller, and the browser's own font
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the XML prolog and doctype don't belong inside an HTML page
